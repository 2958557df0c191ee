// Fuzz target: HTTP/1.1 framing as the server reads it (Beast's request
// parser with the server's limits), and the answer chosen for what it
// refuses: a 400 or 505 with a message, or nothing when the peer is gone.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <cstddef>
#include <cstdint>

#include "http_framing.h"

namespace http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  http::request_parser<http::string_body> parser;
  parser.body_limit(64 * 1024);
  parser.header_limit(16 * 1024);
  parser.eager(true);
  boost::system::error_code ec;
  size_t used = parser.put(boost::asio::buffer(data, size), ec);
  (void)used;
  if (!ec && parser.is_done()) {
    if (const auto bad = switchyard::bus::unsupported_version(parser.get().version()))
      if (bad->status != 505 || bad->message.empty()) __builtin_trap();
    return 0;
  }
  if (ec && ec != http::error::need_more && ec != http::error::body_limit && ec != http::error::header_limit) {
    const auto bad = switchyard::bus::framing_error(ec);
    if (bad && (bad->status != 400 || bad->message.empty())) __builtin_trap();
  }
  return 0;
}
