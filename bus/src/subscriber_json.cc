// The admin API's view of a subscriber.

#include <nlohmann/json.hpp>

#include "switchyard/bus/subscribers.h"
#include "switchyard/core/time.h"

namespace switchyard::bus {

std::string subscriber_json(const SubscriberStatus& s) {
  nlohmann::json j = {{"bus", s.bus},
                      {"name", s.name},
                      {"type", s.type},
                      {"target", s.target},
                      {"state", s.state},
                      {"starting_position", s.starting_position},
                      {"position", s.position},
                      {"log_first_position", s.log_first},
                      {"log_next_position", s.log_next},
                      {"backlog", s.log_next > s.position ? s.log_next - s.position : 0},
                      {"delivered", s.delivered}};
  if (s.created_ms) j["created"] = core::format_time_ms(s.created_ms);
  if (s.type == "FIFO") {
    j["groups"] = s.groups;
    j["groups_blocked"] = s.groups_blocked;
    j["oldest_blocked_seconds"] = static_cast<double>(s.oldest_blocked_ms) / 1000;
    j["parked_groups"] = s.parked_groups;
    j["events_waiting"] = s.waiting;
  }
  return j.dump();
}

}  // namespace switchyard::bus
