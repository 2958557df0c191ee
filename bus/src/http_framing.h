#pragma once

// What a well-behaved HTTP/1.1 server answers when a request cannot be read
// as HTTP/1.1: a 400 that names the problem (505 for another protocol
// version), before the connection is closed. Read errors that are not the
// client's framing (a closed or timed-out connection) get no answer.

#include <boost/system/error_code.hpp>

#include <optional>
#include <string>

namespace switchyard::bus {

struct FramingError {
  unsigned status = 400;
  std::string message;  // says what is wrong, never echoes the request
};

// The answer to a failed read of a request, or nothing when the peer is gone.
// body_limit and header_limit are answered by the caller (413, 431).
std::optional<FramingError> framing_error(const boost::system::error_code& ec);

// The answer to a request that parsed but is not HTTP/1.0 or 1.1 (the HTTP/2
// preface "PRI * HTTP/2.0" parses as version 2.0), or nothing.
std::optional<FramingError> unsupported_version(unsigned version);

}  // namespace switchyard::bus
