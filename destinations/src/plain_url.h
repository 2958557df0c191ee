#pragma once

// The URLs the HTTP/1.1 lane takes: http://host[:port][/path][?query], the
// host a name or an IP literal ([v6] in brackets), no user info, nothing
// in the target that would need encoding. Anything else goes to curl.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace switchyard::destinations {

struct PlainUrl {
  std::string host;  // without brackets
  uint16_t port = 80;
  std::string host_header;  // as sent: host, or host:port when not 80
  std::string target;       // path and query; "/" when the URL has none
};

std::optional<PlainUrl> parse_plain_url(std::string_view url);

}  // namespace switchyard::destinations
