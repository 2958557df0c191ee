#pragma once

// Open-file limits and what follows from them: the soft limit is raised to
// the hard one at start, and the default connection cap leaves room for the
// store, the delivery connections and the files a reload reads.

#include <cstddef>

namespace switchyard::bus {

// Raises the soft RLIMIT_NOFILE to the hard limit where allowed; returns the
// soft limit in force afterwards.
size_t raise_open_file_limit();

// The default max_connections per listener (two listeners) for a file
// limit: half of what is left after 256 descriptors kept for everything
// else, at least 16 and at most 10,000.
size_t default_max_connections(size_t open_file_limit);

}  // namespace switchyard::bus
