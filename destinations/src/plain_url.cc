#include "plain_url.h"

#include <charconv>

#include "switchyard/core/ascii.h"

namespace switchyard::destinations {
namespace {

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

bool v6_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

}  // namespace

std::optional<PlainUrl> parse_plain_url(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.size() < kScheme.size() || !core::iequals(url.substr(0, kScheme.size()), kScheme)) return std::nullopt;
  url.remove_prefix(kScheme.size());
  const size_t end_of_authority = url.find_first_of("/?#");
  std::string_view authority = url.substr(0, end_of_authority);
  std::string_view rest = end_of_authority == std::string_view::npos ? "" : url.substr(end_of_authority);
  if (const size_t hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  for (const char c : rest)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) return std::nullopt;

  PlainUrl out;
  std::string_view port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view v6 = authority.substr(1, close - 1);
    if (v6.empty()) return std::nullopt;
    for (const char c : v6)
      if (!v6_char(c)) return std::nullopt;
    out.host = std::string(v6);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
      has_port = true;
    }
  } else {
    const size_t colon = authority.find(':');
    const std::string_view host = authority.substr(0, colon);
    if (host.empty()) return std::nullopt;
    for (const char c : host)
      if (!name_char(c)) return std::nullopt;
    out.host = std::string(host);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      has_port = true;
    }
  }
  if (has_port) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value == 0 || value > 65535)
      return std::nullopt;
    out.port = static_cast<uint16_t>(value);
  }
  const std::string bracketed = authority.front() == '[' ? "[" + out.host + "]" : out.host;
  out.host_header = out.port == 80 ? bracketed : bracketed + ":" + std::to_string(out.port);
  if (rest.empty())
    out.target = "/";
  else if (rest.front() == '?')
    out.target = "/" + std::string(rest);
  else
    out.target = std::string(rest);
  return out;
}

}  // namespace switchyard::destinations
