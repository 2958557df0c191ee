#pragma once

// The HTTP request of one delivery attempt, built from the destination, the
// delivery and the time alone: pure functions, no I/O, table-tested.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "switchyard/core/task.h"
#include "switchyard/destinations/destination.h"

namespace switchyard::destinations {

using Params = std::vector<std::pair<std::string, std::string>>;

struct OutgoingRequest {
  std::string url;
  std::vector<std::string> headers;  // "Name: value" lines, in the order sent
  std::string body;                  // empty for GET and HEAD
};

struct RequestProblem {
  std::string code;     // EventBridge's DLQ error code (INVALID_PARAMETER)
  std::string message;  // names the parameter, never its value
};

// Builds the request: the endpoint with each '*' replaced by the next path
// parameter (percent-encoded) and the query string parameters (the
// connection's win over the target's), the headers (the target's header
// parameters and the connection's, Content-Type, EventBridge's User-Agent,
// webhook-id, webhook-timestamp, webhook-signature with a signing key, the
// trace header, the connection's auth headers, the OAuth token when
// `oauth_authorization` is given), and the body with the connection's body
// parameters merged into a JSON object. A delivery that must not be sent (too
// few path parameters, a header value with a control character) gives a
// problem instead.
bool build_request(const Destination& d, const core::DeliveryTask& task, int64_t now_ms,
                   const std::string* oauth_authorization, OutgoingRequest* out, RequestProblem* problem);

// Target parameters, then the connection's, which win on the same key
// (compared without case for headers).
Params merge_parameters(const Params& target, const Params& connection, bool case_insensitive);

}  // namespace switchyard::destinations
