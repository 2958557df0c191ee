#include "http_message.h"

#include <algorithm>
#include <cctype>

#include "switchyard/bus/ingest.h"
#include "switchyard/core/uuid.h"

namespace switchyard::bus {

Response json_response(const Request& req, http::status status, std::string body) {
  Response res{status, req.version()};
  res.set(http::field::server, "switchyard");
  res.set(http::field::content_type, "application/json");
  if (const auto id = req["x-request-id"]; !id.empty()) res.set("x-request-id", id);
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response error_response(const Request& req, http::status status, std::string_view code, std::string_view message) {
  return json_response(req, status, error_body(code, message));
}

std::string request_id(std::string_view given) {
  const bool sane =
      !given.empty() && given.size() <= 128 && std::all_of(given.begin(), given.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '.' || c == '_' || c == ':' || c == '-';
      });
  return sane ? std::string(given) : core::uuid_v4();
}

std::vector<std::string_view> segments(std::string_view target) {
  const auto q = target.find('?');
  if (q != std::string_view::npos) target = target.substr(0, q);
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < target.size()) {
    if (target[pos] == '/') {
      ++pos;
      continue;
    }
    const size_t end = target.find('/', pos);
    out.push_back(target.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos));
    if (end == std::string_view::npos) break;
    pos = end;
  }
  return out;
}

Response aws_response(const Request& req, http::status status, std::string body) {
  Response res = json_response(req, status, std::move(body));
  res.set(http::field::content_type, "application/x-amz-json-1.1");
  res.set("x-amzn-RequestId", req["x-request-id"]);
  return res;
}

Response no_route(const Request& req) {
  return error_response(req, http::status::not_found, "NotFound",
                        "No route for " + std::string(req.method_string()) + " " + std::string(req.target()) + ".");
}

Response unauthorized(const Request& req, std::string message) {
  Response res = error_response(req, http::status::unauthorized, "Unauthorized", message);
  res.set(http::field::www_authenticate, "Bearer");
  return res;
}

Response store_failure(const Request& req, const core::Status& status) {
  const bool passes = status.code() == core::Code::kResourceExhausted || status.code() == core::Code::kUnavailable;
  return error_response(req, passes ? http::status::service_unavailable : http::status::internal_server_error,
                        passes ? "ServiceUnavailable" : "InternalFailure", status.message());
}

}  // namespace switchyard::bus
