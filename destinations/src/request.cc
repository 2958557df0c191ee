#include "request.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "switchyard/core/ascii.h"
#include "switchyard/core/crypto.h"
#include "switchyard/core/http_header.h"

namespace switchyard::destinations {
namespace {

// The endpoint's '*'s replaced by the path parameters, then the query.
bool build_url(const Destination& d, const core::DeliveryTask& t, std::string* url) {
  size_t next = 0;
  const auto query_at = d.endpoint.find('?');
  const std::string endpoint = d.endpoint.substr(0, query_at);
  for (char c : endpoint) {
    if (c != '*') {
      *url += c;
      continue;
    }
    if (next >= t.path_params.size()) return false;
    *url += core::percent_encode(t.path_params[next++]);
  }
  std::string query = query_at == std::string::npos ? "" : d.endpoint.substr(query_at + 1);
  for (const auto& [k, v] : merge_parameters(t.query, d.query_parameters, false)) {
    if (!query.empty()) query += '&';
    query += core::percent_encode(k) + "=" + core::percent_encode(v);
  }
  if (!query.empty()) *url += "?" + query;
  return true;
}

// Connection body parameters become top-level keys of a JSON object body.
std::string with_body_parameters(const Destination& d, const std::string& body) {
  if (d.body_parameters.empty()) return body;
  auto j = nlohmann::ordered_json::parse(body, nullptr, false);
  if (!j.is_object()) return body;
  for (const auto& [k, v] : d.body_parameters) j[k] = v;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The name of the first header whose value may not be sent, or "".
std::string invalid_header(const Params& params, const Destination& d, const core::DeliveryTask& task,
                           const std::string* oauth_authorization) {
  for (const auto& [k, v] : params)
    if (!core::valid_header_value(v)) return k;
  if (!core::valid_header_value(task.trace_header)) return "X-Amzn-Trace-Id";
  for (const auto& [k, v] : d.headers)
    if (!core::valid_header_value(v)) return k;
  if (oauth_authorization && !core::valid_header_value(*oauth_authorization)) return "Authorization";
  return "";
}

}  // namespace

Params merge_parameters(const Params& target, const Params& connection, bool case_insensitive) {
  Params out = target;
  for (const auto& param : connection) {
    const std::string& k = param.first;  // not a structured binding: clang 14 cannot capture those
    auto it = std::find_if(out.begin(), out.end(),
                           [&](const auto& p) { return case_insensitive ? core::iequals(p.first, k) : p.first == k; });
    if (it != out.end())
      it->second = param.second;
    else
      out.push_back(param);
  }
  return out;
}

bool build_request(const Destination& d, const core::DeliveryTask& task, int64_t now_ms,
                   const std::string* oauth_authorization, OutgoingRequest* out, RequestProblem* problem) {
  *out = OutgoingRequest{};
  if (!build_url(d, task, &out->url)) {
    *problem = {"INVALID_PARAMETER", "the target has fewer path parameter values than the endpoint has '*'"};
    return false;
  }
  const Params params = merge_parameters(task.headers, d.header_parameters, true);
  // Values from the event (dynamic parameters, the trace header) or from a
  // token endpoint must not add headers or requests: a CR, LF, NUL or other
  // control character sends the delivery to the DLQ unsent.
  if (std::string bad = invalid_header(params, d, task, oauth_authorization); !bad.empty()) {
    *problem = {"INVALID_PARAMETER",
                "header " + bad + " holds a control character (CR, LF, NUL or another below 0x20); not sent"};
    return false;
  }
  auto& h = out->headers;
  const auto content_type =
      std::find_if(params.begin(), params.end(), [](const auto& p) { return core::iequals(p.first, "Content-Type"); });
  h.push_back("Content-Type: " + (content_type != params.end() ? content_type->second : task.content_type));
  for (const auto& [k, v] : params)
    if (!core::iequals(k, "Content-Type")) h.push_back(k + ": " + v);
  h.push_back("User-Agent: Amazon/EventBridge/ApiDestinations");
  h.push_back("Range: bytes=0-1048575");
  const std::string timestamp = std::to_string(now_ms / 1000);
  h.push_back("webhook-id: " + task.id);
  h.push_back("webhook-timestamp: " + timestamp);
  if (!d.signing_key.empty())  // Standard Webhooks: v1,base64(HMAC(key, id.timestamp.body))
    h.push_back("webhook-signature: v1," +
                core::base64_encode(core::hmac_sha256(d.signing_key, task.id + "." + timestamp + "." + task.body)));
  if (!task.trace_header.empty()) h.push_back("X-Amzn-Trace-Id: " + task.trace_header);
  for (const auto& [k, v] : d.headers) h.push_back(k + ": " + v);
  if (oauth_authorization) h.push_back("Authorization: " + *oauth_authorization);
  h.push_back("Expect:");
  if (d.method != "GET" && d.method != "HEAD") out->body = with_body_parameters(d, task.body);
  return true;
}

}  // namespace switchyard::destinations
