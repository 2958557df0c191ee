#include "dedup_ids.h"

#include "switchyard/core/crypto.h"

namespace switchyard::bus {

using nlohmann::json;

namespace {

EntryResult invalid(std::string message) { return {"", "InvalidArgument", std::move(message), ""}; }

}  // namespace

bool valid_dedup_id(std::string_view id) {
  return !id.empty() && id.size() <= 128 && id.find_first_not_of(" \t\r\n") != std::string_view::npos;
}

std::string content_dedup_id(const core::Event& e, bool time_given) {
  std::string content = e.source + "\n" + e.detail_type + "\n";
  for (const auto& r : e.resources) content += r + "\n";
  content += e.detail + "\n";
  if (time_given) content += std::to_string(e.time);
  return "content:" + core::sha256_hex(content);
}

EntryResult entry_dedup_id(const json& entry, const core::Event& e, const BusSettings& bus,
                           std::string_view idempotency_key, size_t index, size_t entries, std::string* out) {
  if (auto it = entry.find("deduplication-id"); it != entry.end() && !it->is_null()) {
    if (!it->is_string() || !valid_dedup_id(it->get_ref<const std::string&>()))
      return invalid(
          "Parameter deduplication-id is not valid. Reason: it must be a string of 1 to 128 characters, not all "
          "white space.");
    *out = it->get<std::string>();
    return {};
  }
  if (!idempotency_key.empty()) {
    if (!valid_dedup_id(idempotency_key))
      return invalid("The Idempotency-Key header is not valid: it must be 1 to 128 characters, not all white space.");
    *out = std::string(idempotency_key);
    if (entries > 1) *out += "#" + std::to_string(index);
    return {};
  }
  if (bus.dedup_content_based) {
    const auto t = entry.find("time");
    *out = content_dedup_id(e, t != entry.end() && !t->is_null());
  }
  return {};
}

std::string body_member_text(std::string_view body, std::string_view member) {
  const size_t start = body.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos || body[start] != '{') return {};
  const std::vector<std::string_view> raw = raw_member_values(body, member);
  if (raw.empty() || raw.front().empty()) return {};
  const std::string_view v = raw.front();
  if (v.front() != '"') return v.front() == '{' || v.front() == '[' ? std::string() : std::string(v);
  const json text = json::parse(v, nullptr, false);
  return text.is_string() ? text.get<std::string>() : std::string();
}

std::string dedup_key(std::string_view bus, std::string_view group, std::string_view id) {
  std::string scope;
  scope.reserve(bus.size() + group.size() + id.size() + 2);
  scope.append(bus).append(1, '\n').append(group).append(1, '\n').append(id);
  return core::sha256_hex(scope);
}

}  // namespace switchyard::bus
