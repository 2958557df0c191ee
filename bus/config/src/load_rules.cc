#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

#include "loader.h"
#include "switchyard/core/crypto.h"
#include "switchyard/core/http_header.h"
#include "switchyard/core/log.h"
#include "switchyard/rules/matcher.h"

namespace switchyard::config::internal {

void Loader::load_buses(const YAML::Node& list, Config* c) {
  std::set<std::string> seen;
  if (sequence(list, "buses")) {
    for (size_t i = 0; i < list.size(); ++i) {
      const YAML::Node b = list[i];
      const std::string where = "buses[" + std::to_string(i) + "]";
      if (!require_map(b, where)) continue;
      check_keys(b, where,
                 {"name", "account", "region", "ingest_tokens", "access_keys", "deduplication", "retention_days"});
      BusConfig bus;
      bus.name = str(b, "name", where, true);
      name(b, bus.name, where, 256);
      bus.account = str(b, "account", where, false, bus.account);
      bus.region = str(b, "region", where, false, bus.region);
      if (const auto tokens = b["ingest_tokens"]; sequence(tokens, "ingest_tokens")) {
        for (size_t k = 0; k < tokens.size(); ++k) {
          std::string token = secret_value(tokens[k], where + ".ingest_tokens[" + std::to_string(k) + "]");
          if (token.empty()) error(tokens[k], "an ingest token in " + where + " is empty");
          bus.ingest_tokens.push_back(std::move(token));
        }
      }
      if (const auto keys = b["access_keys"]; sequence(keys, "access_keys")) {
        for (size_t k = 0; k < keys.size(); ++k) {
          const std::string kw = where + ".access_keys[" + std::to_string(k) + "]";
          if (!require_map(keys[k], kw)) continue;
          check_keys(keys[k], kw, {"access_key_id", "secret_access_key"});
          bus.access_keys.push_back(
              {str(keys[k], "access_key_id", kw, true), secret(keys[k], "secret_access_key", kw)});
        }
      }
      if (const auto d = b["deduplication"]; d && require_map(d, where + ".deduplication")) {
        const std::string dw = where + ".deduplication";
        check_keys(d, dw, {"window_seconds", "content_based"});
        bus.dedup_window_seconds = number<int64_t>(d, "window_seconds", dw, 300, 1, 86400);
        bus.dedup_content_based = boolean(d, "content_based", dw, false);
      }
      bus.retention_days = number<int32_t>(b, "retention_days", where, -1, 0, 365);
      if (!seen.insert(bus.name).second) error(b, "duplicate bus name '" + bus.name + "'");
      c->buses.push_back(bus);
    }
  }
  if (!seen.count("default")) {
    BusConfig fallback;
    fallback.name = "default";
    c->buses.insert(c->buses.begin(), fallback);
  }
}

void Loader::load_rules(const YAML::Node& list, Config* c) {
  if (!sequence(list, "rules")) return;
  std::set<std::pair<std::string, std::string>> seen;
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node n = list[i];
    const std::string where = "rules[" + std::to_string(i) + "]";
    if (!require_map(n, where)) continue;
    check_keys(n, where, {"name", "bus", "description", "state", "event_pattern", "targets"});
    RuleConfig r;
    r.name = str(n, "name", where, true);
    name(n, r.name, where, 64);
    r.bus = str(n, "bus", where, false, r.bus);
    if (std::none_of(c->buses.begin(), c->buses.end(), [&](const BusConfig& b) { return b.name == r.bus; }))
      error(n["bus"] ? n["bus"] : n, "rule '" + r.name + "' is on bus '" + r.bus + "', which is not defined");
    if (!seen.insert({r.bus, r.name}).second) error(n, "duplicate rule name '" + r.name + "' on bus '" + r.bus + "'");
    const std::string state = str(n, "state", where, false, "ENABLED");
    if (state != "ENABLED" && state != "DISABLED")
      error(n["state"], "state of rule '" + r.name + "' must be ENABLED or DISABLED");
    r.enabled = state == "ENABLED";
    const YAML::Node p = n["event_pattern"];
    if (!p) {
      error(n, "missing required key 'event_pattern' in " + where);
    } else {
      r.event_pattern = event_pattern(p, "rule '" + r.name + "'");
    }
    load_targets(n["targets"], where, r, c);
    c->rules.push_back(std::move(r));
  }
}

void Loader::load_archives(const YAML::Node& list, Config* c) {
  if (!sequence(list, "archives")) return;
  std::set<std::string> seen;
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node n = list[i];
    const std::string where = "archives[" + std::to_string(i) + "]";
    if (!require_map(n, where)) continue;
    check_keys(n, where, {"name", "bus", "event_pattern", "retention_days", "description"});
    ArchiveConfig a;
    a.name = str(n, "name", where, true);
    name(n, a.name, where, 48);
    if (!seen.insert(a.name).second) error(n, "duplicate archive name '" + a.name + "'");
    a.bus = str(n, "bus", where, false, a.bus);
    if (std::none_of(c->buses.begin(), c->buses.end(), [&](const BusConfig& b) { return b.name == a.bus; }))
      error(n["bus"] ? n["bus"] : n, "archive '" + a.name + "' is on bus '" + a.bus + "', which is not defined");
    if (const YAML::Node p = n["event_pattern"]; p && !p.IsNull())
      a.event_pattern = event_pattern(p, "archive '" + a.name + "'");
    a.retention_days = number<uint32_t>(n, "retention_days", where, 0, 0, 1000000);
    a.description = str(n, "description", where, false);
    if (a.description.size() > 512)
      error(n["description"], "the description of archive '" + a.name + "' is longer than 512 characters");
    c->archives.push_back(std::move(a));
  }
}

void Loader::load_targets(const YAML::Node& list, const std::string& rule_where, RuleConfig& r, Config* c) {
  if (!sequence(list, (rule_where + ".targets").c_str())) return;
  if (list.size() > 5)
    error(list, "rule '" + r.name + "' has " + std::to_string(list.size()) +
                    " targets; EventBridge allows at most 5 per rule");
  std::set<std::string> ids;
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node n = list[i];
    const std::string where = rule_where + ".targets[" + std::to_string(i) + "]";
    if (!require_map(n, where)) continue;
    check_keys(n, where,
               {"id", "destination", "bus", "http_parameters", "retry_policy", "dead_letter", "input", "input_path",
                "input_transformer"});
    TargetConfig t;
    t.id = str(n, "id", where, true);
    if (!t.id.empty() && (t.id.size() > 64 || !std::regex_match(t.id, kNameRe)))
      error(n["id"], "invalid target id '" + t.id + "' in " + where +
                         ": 1 to 64 characters of letters, digits, '.', '-' and '_'");
    if (!ids.insert(t.id).second) error(n, "duplicate target id '" + t.id + "' in rule '" + r.name + "'");
    load_target(n, where, "target '" + t.id + "' of rule '" + r.name + "'", "rule", r.bus, c, &t);
    r.targets.push_back(std::move(t));
  }
}

void Loader::load_target(const YAML::Node& n, const std::string& where, const std::string& label,
                         const std::string& owner_kind, const std::string& own_bus, const Config* c,
                         TargetConfig* out) {
  TargetConfig& t = *out;
  if (n["bus"]) {  // an event-bus target: nothing else of a target applies
    t.bus = str(n, "bus", where, true);
    if (n["destination"]) error(n["bus"], label + " gives both destination and bus");
    if (std::none_of(c->buses.begin(), c->buses.end(), [&](const BusConfig& b) { return b.name == t.bus; }))
      error(n["bus"], label + " names bus '" + t.bus + "', which is not defined");
    else if (t.bus == own_bus)
      error(n["bus"], label + " names the " + owner_kind + "'s own bus '" + t.bus + "'");
    for (const char* k : {"http_parameters", "retry_policy", "dead_letter", "input", "input_path", "input_transformer"})
      if (n[k])
        error(n[k], std::string("'") + k + "' does not apply to " + label +
                        ": a bus target puts the event itself on the bus, in the same write");
    return;
  }
  t.destination = str(n, "destination", where, true);
  const ApiDestinationConfig* dest = nullptr;
  for (const auto& d : c->api_destinations)
    if (d.name == t.destination) dest = &d;
  if (!dest && !t.destination.empty())
    error(n["destination"], label + " names api destination '" + t.destination + "', which is not defined");
  if (const auto hp = n["http_parameters"]; hp && require_map(hp, where + ".http_parameters")) {
    check_keys(hp, where + ".http_parameters",
               {"path_parameter_values", "header_parameters", "query_string_parameters"});
    t.header_parameters = params(hp["header_parameters"], where + ".http_parameters.header_parameters", true);
    t.query_string_parameters =
        params(hp["query_string_parameters"], where + ".http_parameters.query_string_parameters", false);
    if (const auto pv = hp["path_parameter_values"]; sequence(pv, "path_parameter_values")) {
      for (const auto& v : pv) {
        if (!v.IsScalar() || v.Scalar().find_first_not_of(" \t") == std::string::npos)
          error(v, "path parameter values must be non-blank strings");
        else
          t.path_parameter_values.push_back(v.Scalar());
      }
    }
  }
  if (dest) {
    const size_t stars = count_path_wildcards(dest->endpoint);
    if (stars != t.path_parameter_values.size())
      error(n, label + " gives " + std::to_string(t.path_parameter_values.size()) +
                   " path parameter values but the endpoint of '" + dest->name + "' has " + std::to_string(stars) +
                   " '*'");
  }
  if (const auto rp = n["retry_policy"]; rp && require_map(rp, where + ".retry_policy")) {
    check_keys(rp, where + ".retry_policy", {"maximum_retry_attempts", "maximum_event_age_seconds"});
    t.retry_policy.maximum_retry_attempts =
        number<uint32_t>(rp, "maximum_retry_attempts", where + ".retry_policy", 185, 0, 185);
    t.retry_policy.maximum_event_age_seconds =
        number<uint32_t>(rp, "maximum_event_age_seconds", where + ".retry_policy", 86400, 60, 86400);
  }
  t.dead_letter = boolean(n, "dead_letter", where, true);
  load_target_input(n, where, &t);
}

// input (JSON text, or YAML converted to JSON), input_path, or
// input_transformer {input_paths_map, input_template}; at most one.
void Loader::load_target_input(const YAML::Node& n, const std::string& where, TargetConfig* t) {
  const int given = (n["input"] ? 1 : 0) + (n["input_path"] ? 1 : 0) + (n["input_transformer"] ? 1 : 0);
  if (given > 1) {
    error(n, "Only one of Input, InputPath, or InputTransformer must be provided for target " + t->id + ".");
    return;
  }
  // A Mark, not a Node: assigning a YAML::Node overwrites the node it refers to.
  YAML::Mark at = n.Mark();
  if (const auto in = n["input"]) {
    at = in.Mark();
    t->input.kind = rules::TargetInput::Kind::kConstant;
    if (in.IsScalar() && !is_plain(in)) {
      t->input.input = in.Scalar();
    } else {
      yaml_to_json(in, t->input.input);
    }
  } else if (const auto ip = n["input_path"]) {
    at = ip.Mark();
    t->input.kind = rules::TargetInput::Kind::kInputPath;
    t->input.input_path = str(n, "input_path", where, true);
  } else if (const auto tr = n["input_transformer"]) {
    at = tr.Mark();
    if (!require_map(tr, where + ".input_transformer")) return;
    check_keys(tr, where + ".input_transformer", {"input_paths_map", "input_template"});
    t->input.kind = rules::TargetInput::Kind::kTransformer;
    if (const auto map = tr["input_paths_map"]; map && !map.IsNull()) {
      if (!require_map(map, where + ".input_transformer.input_paths_map")) return;
      for (const auto& kv : map) {
        if (!kv.second.IsScalar()) {
          error(kv.second, "the JSONPath of variable " + kv.first.Scalar() + " must be a string");
          return;
        }
        t->input.paths_map.emplace_back(kv.first.Scalar(), kv.second.Scalar());
      }
    }
    t->input.input_template = str(tr, "input_template", where + ".input_transformer", true);
    if (tr["input_template"]) at = tr["input_template"].Mark();
  } else {
    return;
  }
  if (const auto compiled = rules::Transformer::compile(t->input, t->id); !compiled)
    error(at, compiled.status().message());
}

void Loader::load_webhooks(const YAML::Node& list, Config* c) {
  if (!sequence(list, "webhooks")) return;
  std::set<std::string> seen;
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node n = list[i];
    const std::string where = "webhooks[" + std::to_string(i) + "]";
    if (!require_map(n, where)) continue;
    check_keys(n, where, {"name", "bus", "source", "detail_type", "detail_type_header", "verify", "deduplicate_by"});
    WebhookConfig w;
    w.name = str(n, "name", where, true);
    name(n, w.name, where, 64);
    if (!seen.insert(w.name).second) error(n, "duplicate webhook name '" + w.name + "'");
    w.bus = str(n, "bus", where, false, w.bus);
    if (std::none_of(c->buses.begin(), c->buses.end(), [&](const BusConfig& b) { return b.name == w.bus; }))
      error(n["bus"] ? n["bus"] : n, "webhook '" + w.name + "' posts to bus '" + w.bus + "', which is not defined");
    w.source = str(n, "source", where, true);
    w.detail_type = str(n, "detail_type", where, false);
    w.detail_type_header = str(n, "detail_type_header", where, false);
    if (w.detail_type.empty() && w.detail_type_header.empty())
      error(n, "webhook '" + w.name + "' needs detail_type or detail_type_header");
    if (w.detail_type.size() > 128) error(n["detail_type"], "detail_type is longer than 128 characters");
    if (const auto v = n["verify"]; v && require_map(v, where + ".verify")) {
      const std::string vw = where + ".verify";
      check_keys(v, vw, {"scheme", "secret", "header", "encoding", "prefix", "tolerance_seconds"});
      w.verified = true;
      w.verify.scheme = str(v, "scheme", vw, true);
      w.verify.secret = secret(v, "secret", vw);
      w.verify.header = str(v, "header", vw, false);
      w.verify.encoding = str(v, "encoding", vw, false, "hex");
      w.verify.prefix = str(v, "prefix", vw, false);
      w.verify.tolerance_seconds = number<int64_t>(v, "tolerance_seconds", vw, 300, 1, 86400);
      static const std::set<std::string> kSchemes{"github-sha256", "stripe", "standard-webhooks", "hmac-sha256"};
      if (!w.verify.scheme.empty() && !kSchemes.count(w.verify.scheme))
        error(v["scheme"], "unknown verify scheme '" + w.verify.scheme +
                               "' (github-sha256, stripe, standard-webhooks, hmac-sha256)");
      if (w.verify.scheme == "hmac-sha256" && w.verify.header.empty())
        error(v, "verify scheme hmac-sha256 needs 'header', the header that carries the signature");
      if (w.verify.encoding != "hex" && w.verify.encoding != "base64")
        error(v["encoding"], "verify encoding must be hex or base64");
    }
    w.deduplicate_by = str(n, "deduplicate_by", where, false, "auto");
    auto header_name = [](std::string_view h) {
      return !h.empty() && std::all_of(h.begin(), h.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_';
      });
    };
    if (const std::string& d = w.deduplicate_by;
        d != "auto" && d != "none" && !(d.rfind("header:", 0) == 0 && header_name(std::string_view(d).substr(7))) &&
        !(d.rfind("body:", 0) == 0 && d.size() > 5))
      error(n["deduplicate_by"], "deduplicate_by of webhook '" + w.name +
                                     "' must be auto, none, header:<header name> or body:<top-level member>");
    c->webhooks.push_back(std::move(w));
  }
}

}  // namespace switchyard::config::internal
