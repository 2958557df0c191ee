#include "subscriber_progress.h"

#include <charconv>
#include <nlohmann/json.hpp>

namespace switchyard::bus {

std::string progress_key(const std::string& bus, const std::string& name) { return kProgressPrefix + bus + "/" + name; }

std::string group_prefix(const std::string& bus, const std::string& name) {
  return kGroupPrefix + bus + "/" + name + "/";
}

std::string encode_progress(const Progress& p) {
  return nlohmann::json{{"position", p.position}, {"live_from", p.live_from}, {"running", p.running},
                        {"ended", p.ended},       {"delivered", p.delivered}, {"created_ms", p.created_ms}}
      .dump();
}

std::optional<Progress> decode_progress(const std::string& text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  try {
    Progress p;
    p.position = j.at("position").get<uint64_t>();
    p.live_from = j.at("live_from").get<uint64_t>();
    p.running = j.at("running").get<bool>();
    p.ended = j.value("ended", false);
    p.delivered = j.value("delivered", uint64_t{0});
    p.created_ms = j.value("created_ms", int64_t{0});
    return p;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

std::string encode_group(const GroupRecord& g) { return g.state + " " + std::to_string(g.position); }

std::optional<GroupRecord> decode_group(const std::string& text) {
  const auto space = text.find(' ');
  if (space == std::string::npos) return std::nullopt;
  GroupRecord g;
  g.state = text.substr(0, space);
  if (g.state != "busy" && g.state != "done" && g.state != "dead" && g.state != "released") return std::nullopt;
  const char* end = text.data() + text.size();
  if (std::from_chars(text.data() + space + 1, end, g.position).ptr != end) return std::nullopt;
  return g;
}

}  // namespace switchyard::bus
