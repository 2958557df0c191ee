#include "switchyard/core/event.h"

#include "switchyard/core/json_text.h"
#include "switchyard/core/time.h"

namespace switchyard::core {

std::string envelope_json(const Event& e) {
  std::string out;
  out.reserve(200 + e.detail.size());
  out += R"({"version":"0","id":)";
  append_json_string(out, e.id);
  out += R"(,"detail-type":)";
  append_json_string(out, e.detail_type);
  out += R"(,"source":)";
  append_json_string(out, e.source);
  out += R"(,"account":)";
  append_json_string(out, e.account);
  out += R"(,"time":")";
  out += format_time(e.time);
  out += R"(","region":)";
  append_json_string(out, e.region);
  if (!e.replay_name.empty()) {
    out += R"(,"replay-name":)";
    append_json_string(out, e.replay_name);
  }
  out += R"(,"resources":[)";
  for (size_t i = 0; i < e.resources.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, e.resources[i]);
  }
  out += R"(],"detail":)";
  out += e.detail.empty() ? std::string("{}") : e.detail;
  out += '}';
  return out;
}

}  // namespace switchyard::core
