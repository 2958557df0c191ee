#include "http_framing.h"

#include <boost/beast/http/error.hpp>

namespace switchyard::bus {

namespace http = boost::beast::http;

std::optional<FramingError> framing_error(const boost::system::error_code& ec) {
  if (ec.category() != http::make_error_code(http::error::bad_method).category()) return std::nullopt;
  switch (static_cast<http::error>(ec.value())) {
    case http::error::bad_line_ending: return FramingError{400, "A line of the request does not end in CRLF."};
    case http::error::bad_method: return FramingError{400, "The request method is not a valid token."};
    case http::error::bad_target: return FramingError{400, "The request target is not valid."};
    case http::error::bad_version:
      return FramingError{400, "The request line does not end in a valid HTTP version (HTTP/1.0 or HTTP/1.1)."};
    case http::error::bad_field: return FramingError{400, "A header line is not a valid 'name: value' field."};
    case http::error::bad_value:
      return FramingError{400, "A header value holds a character that is not allowed (NUL or a control character)."};
    case http::error::bad_content_length:
      return FramingError{
          400, "The Content-Length header is not one non-negative whole number, or comes with Transfer-Encoding."};
    case http::error::multiple_content_length:
      return FramingError{400, "The request has more than one Content-Length."};
    case http::error::bad_transfer_encoding:
      return FramingError{400,
                          "The Transfer-Encoding is not valid, or is given together with Content-Length; only "
                          "chunked is accepted, last."};
    case http::error::bad_chunk: return FramingError{400, "A chunk size of the chunked body is not valid."};
    case http::error::bad_chunk_extension:
      return FramingError{400, "A chunk extension of the chunked body is not valid."};
    case http::error::bad_obs_fold: return FramingError{400, "Obsolete line folding in a header is not accepted."};
    case http::error::unexpected_body: return FramingError{400, "The request has a body where none is allowed."};
    case http::error::buffer_overflow:
    case http::error::bad_alloc: return FramingError{400, "The request could not be read."};
    default: return std::nullopt;  // end_of_stream, partial_message, ...: the client is gone
  }
}

std::optional<FramingError> unsupported_version(unsigned version) {
  if (version == 10 || version == 11) return std::nullopt;
  return FramingError{505, "HTTP version " + std::to_string(version / 10) + "." + std::to_string(version % 10) +
                               " is not supported; use HTTP/1.1."};
}

}  // namespace switchyard::bus
