// Subscribers of bus logs (eventbridge-v2.md §1.3, §3, §6): the YAML
// `subscribers:` section, checked like CreateSubscriber checks its input.

#include <nlohmann/json.hpp>
#include <set>

#include "loader.h"
#include "switchyard/core/time.h"
#include "switchyard/rules/transformer.h"

namespace switchyard::config::internal {

namespace {

// The first operator of `pattern` that `allowed` refuses, or "".
std::string refused_operator(const nlohmann::json& pattern, bool exact_only) {
  if (pattern.is_object()) {
    for (const auto& [key, value] : pattern.items()) {
      if (auto bad = refused_operator(value, exact_only); !bad.empty()) return bad;
      if (exact_only && key == "$or") return "$or";
    }
    return "";
  }
  if (!pattern.is_array()) return "";
  for (const auto& v : pattern) {
    if (v.is_object()) {
      for (const auto& [op, _] : v.items())
        if (exact_only || op == "wildcard") return op;
    } else if (exact_only && !v.is_string()) {
      return "a " + std::string(v.type_name()) + " value";
    }
  }
  return "";
}

}  // namespace

std::string Loader::filter_pattern(const YAML::Node& p, const std::string& scope, const std::string& what) {
  const std::string json = event_pattern(p, what);
  if (json.size() > 4096) {
    error(p, "the " + scope + " filter of " + what + " is longer than 4096 characters");
    return json;
  }
  const nlohmann::json parsed = nlohmann::json::parse(json, nullptr, false);
  if (parsed.is_discarded()) return json;  // event_pattern reported it
  const bool exact_only = scope == "METADATA";
  if (const std::string bad = refused_operator(parsed, exact_only); !bad.empty())
    error(p, "the " + scope + " filter of " + what + " uses " + (bad[0] == 'a' ? bad : "'" + bad + "'") +
                 (exact_only ? ": METADATA filters take exact string values only"
                             : ": subscriber filters take every operator but wildcard"));
  return json;
}

void Loader::load_subscribers(const YAML::Node& list, Config* c) {
  if (!sequence(list, "subscribers")) return;
  std::set<std::pair<std::string, std::string>> seen;
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node n = list[i];
    const std::string where = "subscribers[" + std::to_string(i) + "]";
    if (!require_map(n, where)) continue;
    check_keys(n, where,
               {"name", "bus", "type", "group_by", "filters", "transform", "target", "state", "resume_position",
                "starting_position", "end_position", "on_exhausted", "description"});
    SubscriberConfig s;
    s.name = str(n, "name", where, true);
    name(n, s.name, where, 256);
    const std::string what = "subscriber '" + s.name + "'";
    s.bus = str(n, "bus", where, false, s.bus);
    const BusConfig* bus = nullptr;
    for (const auto& b : c->buses)
      if (b.name == s.bus) bus = &b;
    if (!bus) error(n["bus"] ? n["bus"] : n, what + " is on bus '" + s.bus + "', which is not defined");
    if (!seen.insert({s.bus, s.name}).second)
      error(n, "duplicate subscriber name '" + s.name + "' on bus '" + s.bus + "'");

    const std::string type = str(n, "type", where, false, "UNORDERED");
    if (type != "UNORDERED" && type != "FIFO") error(n["type"], "type of " + what + " must be UNORDERED or FIFO");
    s.fifo = type == "FIFO";
    if (n["group_by"]) {
      s.group_by = str(n, "group_by", where, true);
      if (!s.fifo) error(n["group_by"], "group_by applies to FIFO subscribers only; " + what + " is " + type);
      rules::TargetInput path;
      path.kind = rules::TargetInput::Kind::kInputPath;
      path.input_path = s.group_by;
      if (s.group_by.rfind("$.", 0) != 0 || !rules::Transformer::compile(path, s.name))
        error(n["group_by"], "group_by of " + what + " must be a JSONPath into the event, such as $.detail.orderId");
    }

    if (const auto filters = n["filters"]; sequence(filters, (where + ".filters").c_str())) {
      if (filters.size() == 0) error(filters, "filters of " + what + " must hold at least one filter");
      std::set<std::string> scopes;
      for (size_t k = 0; k < filters.size(); ++k) {
        const YAML::Node f = filters[k];
        const std::string fw = where + ".filters[" + std::to_string(k) + "]";
        if (!require_map(f, fw)) continue;
        check_keys(f, fw, {"scope", "pattern"});
        const std::string scope = str(f, "scope", fw, false, "DATA");
        if (scope != "DATA" && scope != "METADATA" && scope != "SYSTEM_METADATA") {
          error(f["scope"], "scope of " + fw + " must be DATA, METADATA or SYSTEM_METADATA");
          continue;
        }
        if (!scopes.insert(scope).second) error(f, what + " has more than one " + scope + " filter");
        const YAML::Node p = f["pattern"];
        if (!p) {
          error(f, "missing required key 'pattern' in " + fw);
          continue;
        }
        const std::string pattern = filter_pattern(p, scope, what);
        (scope == "DATA"       ? s.data_pattern
         : scope == "METADATA" ? s.metadata_pattern
                               : s.system_metadata_pattern) = pattern;
      }
    }

    const YAML::Node t = n["target"];
    if (!t) {
      error(n, "missing required key 'target' in " + where + ": a subscriber has exactly one target");
    } else if (require_map(t, where + ".target")) {
      check_keys(t, where + ".target",
                 {"destination", "bus", "http_parameters", "retry_policy", "dead_letter", "input", "input_path",
                  "input_transformer"});
      s.target.id = s.name;
      load_target(t, where + ".target", "the target of " + what, "subscriber", s.bus, c, &s.target);
    }
    const bool input = t && t.IsMap() && (t["input"] || t["input_path"] || t["input_transformer"]);
    s.transform = str(n, "transform", where, false, input ? "INPUT" : "RAW");
    if (s.transform != "RAW" && s.transform != "WITH_METADATA" && s.transform != "INPUT")
      error(n["transform"],
            "transform of " + what + " must be RAW or WITH_METADATA (or left out with the target's input)");
    else if (input && s.transform != "INPUT")
      error(n["transform"], what + " gives transform " + s.transform + " and an input on its target; give one of them");
    else if (!input && s.transform == "INPUT")
      error(n["transform"],
            "transform INPUT of " + what + " needs input, input_path or input_transformer on its target");
    else if (!s.target.bus.empty() && s.transform != "RAW")
      error(n["transform"], "the target of " + what + " is a bus, which takes the event as it was published (RAW)");

    const std::string state = str(n, "state", where, false, "RUNNING");
    if (state != "RUNNING" && state != "STOPPED") error(n["state"], "state of " + what + " must be RUNNING or STOPPED");
    s.running = state != "STOPPED";
    const std::string resume = str(n, "resume_position", where, false, "LAST_PROCESSED");
    if (resume != "LAST_PROCESSED" && resume != "LATEST")
      error(n["resume_position"], "resume_position of " + what + " must be LAST_PROCESSED or LATEST");
    s.resume_latest = resume == "LATEST";

    const int64_t now = core::now_ms();
    auto point = [&](const char* key, int64_t* out) {
      const std::string text = str(n, key, where, true);
      const auto t_ms = core::parse_time_ms(text);
      if (!t_ms) {
        error(n[key], std::string(key) + " of " + what +
                          " must be LATEST, HORIZON or a timestamp such as 2026-12-01T00:00:00Z, not '" + text + "'");
        return false;
      }
      if (*t_ms > now) {
        error(n[key], std::string(key) + " of " + what + " (" + text + ") is in the future");
        return false;
      }
      *out = *t_ms;
      return true;
    };
    if (n["starting_position"]) {
      const std::string sp = str(n, "starting_position", where, true);
      if (sp == "LATEST" || sp == "HORIZON") {
        s.starting_position = sp;
      } else if (point("starting_position", &s.start_ms)) {
        s.starting_position = "TIMESTAMP";
        if (bus && bus->retention_days > 0 && s.start_ms < now - int64_t{bus->retention_days} * 86'400'000)
          error(n["starting_position"], "starting_position of " + what + " is before bus '" + s.bus +
                                            "' keeps events (" + std::to_string(bus->retention_days) + " days)");
      }
    }
    if (n["end_position"]) {
      if (s.starting_position == "LATEST")
        error(n["end_position"], "end_position of " + what + " needs a starting_position of HORIZON or a timestamp");
      else if (point("end_position", &s.end_ms) && s.end_ms <= s.start_ms)
        error(n["end_position"], "end_position of " + what + " must be after its starting_position");
    }

    const std::string exhausted = str(n, "on_exhausted", where, false, "dead_letter");
    if (exhausted != "dead_letter" && exhausted != "park")
      error(n["on_exhausted"], "on_exhausted of " + what + " must be dead_letter or park");
    else if (exhausted == "park" && !s.fifo)
      error(n["on_exhausted"], "on_exhausted: park applies to FIFO subscribers only");
    s.park_on_exhausted = exhausted == "park";
    if (n["description"] && str(n, "description", where, false).size() > 512)
      error(n["description"], "the description of " + what + " is longer than 512 characters");
    c->subscribers.push_back(std::move(s));
  }
}

}  // namespace switchyard::config::internal
