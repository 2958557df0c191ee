#include "replay_record.h"

#include <nlohmann/json.hpp>

#include "switchyard/core/crypto.h"
#include "switchyard/core/time.h"

namespace switchyard::bus {

namespace {

std::string from_hex(const std::string& hex) {
  auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(nibble(hex[i]) << 4 | nibble(hex[i + 1]));
  return out;
}

}  // namespace

std::string encode_replay(const ReplayStatus& s) {
  return nlohmann::json{{"name", s.name},
                        {"archive", s.archive},
                        {"bus", s.bus},
                        {"description", s.description},
                        {"start_ms", s.start_ms},
                        {"end_ms", s.end_ms},
                        {"rules", s.rules},
                        {"state", s.state},
                        {"state_reason", s.state_reason},
                        {"events_total", s.events_total},
                        {"events_replayed", s.events_replayed},
                        {"last_replayed_s", s.last_replayed_s},
                        {"started_ms", s.started_ms},
                        {"ended_ms", s.ended_ms},
                        {"cursor", core::to_hex(s.cursor)}}  // binary (be64 time): hex keeps it intact
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

core::Result<ReplayStatus> decode_replay(const std::string& text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return core::Status::corruption("a stored replay is not a JSON object");
  try {
    ReplayStatus s;
    s.name = j.at("name").get<std::string>();
    s.archive = j.value("archive", "");
    s.bus = j.value("bus", "");
    s.description = j.value("description", "");
    s.start_ms = j.value("start_ms", int64_t{0});
    s.end_ms = j.value("end_ms", int64_t{0});
    s.rules = j.value("rules", std::vector<std::string>{});
    s.state = j.value("state", "FAILED");
    s.state_reason = j.value("state_reason", "");
    s.events_total = j.value("events_total", uint64_t{0});
    s.events_replayed = j.value("events_replayed", uint64_t{0});
    s.last_replayed_s = j.value("last_replayed_s", int64_t{0});
    s.started_ms = j.value("started_ms", int64_t{0});
    s.ended_ms = j.value("ended_ms", int64_t{0});
    s.cursor = from_hex(j.value("cursor", ""));
    return s;
  } catch (const nlohmann::json::exception& e) {
    return core::Status::corruption(std::string("a stored replay is not readable: ") + e.what());
  }
}

std::string with_replay_name(const std::string& envelope, const std::string& replay) {
  static constexpr std::string_view kResources = R"(,"resources":)";
  const auto at = envelope.find(kResources);
  if (at == std::string::npos) return envelope;
  return envelope.substr(0, at) + R"(,"replay-name":)" + nlohmann::json(replay).dump() + envelope.substr(at);
}

std::string replay_json(const ReplayStatus& s) {
  nlohmann::json j{
      {"name", s.name},
      {"archive", s.archive},
      {"bus", s.bus},
      {"state", s.state},
      {"start_time", core::format_time_ms(s.start_ms)},
      {"end_time", core::format_time_ms(s.end_ms)},
      {"rules", s.rules},
      {"events_total", s.events_total},
      {"events_replayed", s.events_replayed},
      {"last_replayed_time",
       s.last_replayed_s ? nlohmann::json(core::format_time(s.last_replayed_s)) : nlohmann::json(nullptr)},
      {"replay_start_time", core::format_time_ms(s.started_ms)},
      {"replay_end_time", s.ended_ms ? nlohmann::json(core::format_time_ms(s.ended_ms)) : nlohmann::json(nullptr)}};
  if (!s.description.empty()) j["description"] = s.description;
  if (!s.state_reason.empty()) j["state_reason"] = s.state_reason;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace switchyard::bus
