#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>

#include <cstdint>
#include <map>
#include <string>

#include "subscriber_progress.h"
#include "switchyard/bus/routing.h"
#include "switchyard/storage/roles.h"

namespace switchyard::bus {

// Entries older than a bus's retention go; on a bus that keeps them only as
// long as needed (retention 0), those every subscriber has passed, by the
// subscribers' `stored` progress (by progress_key). Failures are logged and
// tried again at the next pass.
void apply_retention(const Routing& routing, storage::BusLog& store, const std::map<std::string, Progress>& stored,
                     int64_t now, prometheus::Family<prometheus::Counter>& expired);

}  // namespace switchyard::bus
