#pragma once

// The request and response types of both listeners and the answers every
// handler builds: JSON bodies, AWS JSON 1.1 errors, 401s, request ids.

#include <boost/beast/http.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "switchyard/core/status.h"

namespace switchyard::bus {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// A JSON answer, keeping the request's x-request-id and keep-alive.
Response json_response(const Request& req, http::status status, std::string body);
// {"code": ..., "message": ...}
Response error_response(const Request& req, http::status status, std::string_view code, std::string_view message);
// The EventBridge API's answer: AWS JSON 1.1 with x-amzn-RequestId.
Response aws_response(const Request& req, http::status status, std::string body);
// 404 NotFound: "No route for METHOD TARGET."
Response no_route(const Request& req);
// 401 with WWW-Authenticate: Bearer.
Response unauthorized(const Request& req, std::string message);
// A failure of the store as an answer: 503 ServiceUnavailable when it may
// pass (the disk under its reserve, shutting down), else 500 InternalFailure.
Response store_failure(const Request& req, const core::Status& status);

// The request id: the client's X-Request-Id when it is a sane token
// (1-128 of [A-Za-z0-9._:-]), else a new UUID. It is answered in
// x-request-id, stored with every delivery the request causes, and logged.
std::string request_id(std::string_view given);

// Splits "/a/b/c?q" into its path segments.
std::vector<std::string_view> segments(std::string_view target);

}  // namespace switchyard::bus
