#include "admin_api.h"

#include <prometheus/text_serializer.h>

#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "switchyard/bus/auth.h"
#include "switchyard/core/log.h"
#include "switchyard/core/time.h"
#include "switchyard/rules/matcher.h"

namespace switchyard::bus {

class AdminApi::Impl {
 public:
  explicit Impl(AdminApiDeps deps) : deps_(std::move(deps)) {}

  Response handle(const Request& req) const {
    const auto parts = segments(req.target());
    const bool health = parts.size() == 1 && parts[0] == "healthz";
    if (!deps_.admin_token.empty() && !health && !bearer_allowed(req[http::field::authorization], {deps_.admin_token}))
      return unauthorized(req, "A valid admin bearer token is required.");
    for (const Route& route : routes())
      if (route.matches(req.method(), parts)) return (this->*route.handler)(req, parts);
    return no_route(req);
  }

 private:
  using Parts = std::vector<std::string_view>;
  using Handler = Response (Impl::*)(const Request&, const Parts&) const;

  // One route: a method (or any, when the handler answers for every
  // method) and a path whose "{}" segments match any one segment and whose
  // final "**" matches whatever follows, nothing included.
  struct Route {
    std::optional<http::verb> method;
    std::string_view path;
    Handler handler;

    bool matches(http::verb m, const Parts& parts) const {
      if (method && *method != m) return false;
      const Parts want = segments(path);
      const bool rest = !want.empty() && want.back() == "**";
      const size_t fixed = want.size() - (rest ? 1 : 0);
      if (rest ? parts.size() < fixed : parts.size() != fixed) return false;
      for (size_t i = 0; i < fixed; ++i)
        if (want[i] != "{}" && want[i] != parts[i]) return false;
      return true;
    }
  };

  static const std::vector<Route>& routes() {
    static const std::vector<Route> kRoutes{
        {http::verb::post, "/admin/reload", &Impl::reload},
        {http::verb::get, "/metrics", &Impl::metrics},
        {http::verb::get, "/healthz", &Impl::healthz},
        {http::verb::post, "/admin/test-event-pattern", &Impl::test_pattern},
        {http::verb::get, "/admin/destinations", &Impl::destinations},
        {http::verb::post, "/admin/destinations/{}/pause", &Impl::pause_or_resume},
        {http::verb::post, "/admin/destinations/{}/resume", &Impl::pause_or_resume},
        {http::verb::get, "/admin/dlq/{}", &Impl::dead_letters},
        {http::verb::post, "/admin/dlq/{}/redrive", &Impl::dead_letters},
        {http::verb::delete_, "/admin/dlq/{}", &Impl::dead_letters},
        {std::nullopt, "/admin/archives/**", &Impl::archives_and_replays},
        {std::nullopt, "/admin/replays/**", &Impl::archives_and_replays},
        {http::verb::get, "/admin/rules", &Impl::rules},
        {http::verb::get, "/admin/subscribers", &Impl::subscribers},
        {http::verb::post, "/admin/subscribers/{}/{}/release", &Impl::release_group},
        {http::verb::get, "/admin/cluster", &Impl::cluster},
    };
    return kRoutes;
  }

  // Cluster mode: nodes, partitions and their owners. Single-node mode has
  // no cluster to describe.
  Response cluster(const Request& req, const Parts&) const {
    const ClusterView view = deps_.cluster ? deps_.cluster() : ClusterView{};
    if (!view)
      return error_response(req, http::status::not_found, "NotInClusterMode",
                            "This node runs in single-node mode (no cluster section in its configuration).");
    return json_response(req, http::status::ok, view.describe());
  }

  // EventBridge's answer for an API destination it does not know.
  static Response destination_not_found(const Request& req, const std::string& name) {
    return error_response(
        req, http::status::not_found, "ResourceNotFoundException",
        "Failed to describe the api-destination(s). An api-destination '" + name + "' does not exist.");
  }

  Response reload(const Request& req, const Parts&) const {
    const ReloadHandler reload = deps_.reload();
    if (!reload) return error_response(req, http::status::not_implemented, "NotSupported", "Reload is not available.");
    std::string report;
    const bool ok = reload(&report);
    // A valid file the cluster could not take (another node changed the
    // configuration meanwhile, or NATS did not answer) is a conflict, not
    // a bad file.
    const bool conflict = !ok && report.find("\"ClusterConfigNotShared\"") != std::string::npos;
    return json_response(req,
                         ok         ? http::status::ok
                         : conflict ? http::status::conflict
                                    : http::status::bad_request,
                         report);
  }

  Response metrics(const Request& req, const Parts&) const {
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, deps_.registry.Collect());
    Response res = json_response(req, http::status::ok, out.str());
    res.set(http::field::content_type, "text/plain; version=0.0.4");
    return res;
  }

  Response healthz(const Request& req, const Parts&) const {
    return json_response(req, http::status::ok, R"({"status":"ok"})");
  }

  Response test_pattern(const Request& req, const Parts&) const { return test_event_pattern(req); }

  Response destinations(const Request& req, const Parts&) const {
    nlohmann::json out = nlohmann::json::array();
    const ClusterView view = deps_.cluster ? deps_.cluster() : ClusterView{};
    const std::map<std::string, std::string> owners =
        view && view.owners ? view.owners() : std::map<std::string, std::string>{};
    for (const auto& s : deps_.dispatcher.stats()) {
      const char* state = s.paused ? "paused" : !s.active ? "inactive" : s.circuit_open ? "open_circuit" : "active";
      nlohmann::json d{{"name", s.name},
                       {"state", state},
                       {"queued", s.queued},
                       {"backlog_on_disk", s.backlog_on_disk},
                       {"backlog", s.backlog},
                       {"oldest_pending_age_seconds", s.oldest_pending_age_seconds},
                       {"in_flight", s.in_flight},
                       {"delivered", s.delivered},
                       {"delivery_rate_per_second", s.delivery_rate_per_second},
                       {"dead_lettered", s.dead_lettered},
                       {"dlq_depth", s.dlq_depth},
                       {"circuit_openings", s.circuit_openings},
                       {"concurrency_limit", s.concurrency_limit}};
      if (view) {  // cluster mode: who delivers for it (the counts above are this node's)
        auto owner = owners.find(s.name);
        d["owner"] = owner == owners.end() ? "" : owner->second;
      }
      if (!s.connection_state.empty()) d["connection_state"] = s.connection_state;
      if (!s.connection_error.empty()) d["connection_error"] = s.connection_error;
      out.push_back(std::move(d));
    }
    return json_response(req, http::status::ok, nlohmann::json{{"destinations", out}}.dump());
  }

  // POST /admin/destinations/{name}/pause|resume
  Response pause_or_resume(const Request& req, const Parts& parts) const {
    const std::string name(parts[2]);
    if (!known_destination(name)) return destination_not_found(req, name);
    const bool pause = parts[3] == "pause";
    if (auto st = pause ? deps_.dispatcher.pause(name) : deps_.dispatcher.resume(name); !st)
      return error_response(req, http::status::service_unavailable, "ServiceUnavailable", st.message());
    return json_response(req, http::status::ok,
                         nlohmann::json{{"name", name}, {"state", pause ? "paused" : "active"}}.dump());
  }

  // GET /admin/dlq/{name}, POST /admin/dlq/{name}/redrive, DELETE
  // /admin/dlq/{name} (purge, as SQS's PurgeQueue).
  Response dead_letters(const Request& req, const Parts& parts) const {
    const std::string name(parts[2]);
    // A destination removed from the config keeps its dead letters; they
    // can still be listed and redriven (to wait for it on disk).
    const auto depth = deps_.store.count_dead_letters(name);
    if (!depth) return store_failure(req, depth.status());
    if (!known_destination(name) && *depth == 0) return destination_not_found(req, name);
    size_t limit = 100;
    if (!query_limit(req.target(), &limit))
      return error_response(req, http::status::bad_request, "ValidationException",
                            "Parameter limit is not valid: it must be a whole number from 1 to 10000.");
    if (req.method() == http::verb::get) return list_dlq(req, name, limit);
    if (req.method() == http::verb::post) {
      const auto n = deps_.dispatcher.redrive(name, limit);
      if (!n) return store_failure(req, n.status());
      core::log::info("dead letters redriven", {{"destination", name}, {"count", std::to_string(*n)}});
      const auto remaining = deps_.store.count_dead_letters(name);
      if (!remaining) return store_failure(req, remaining.status());
      return json_response(req, http::status::ok,
                           nlohmann::json{{"destination", name}, {"redriven", *n}, {"remaining", *remaining}}.dump());
    }
    uint64_t n = 0;
    const core::Status st = deps_.dispatcher.purge_dead_letters(name, &n);
    if (!st)
      return error_response(req, http::status::service_unavailable, "ServiceUnavailable",
                            st.message() + " (" + std::to_string(n) + " dead letters were deleted)");
    core::log::info("dead letters purged", {{"destination", name}, {"count", std::to_string(n)}});
    const auto remaining = deps_.store.count_dead_letters(name);
    if (!remaining) return store_failure(req, remaining.status());
    return json_response(req, http::status::ok,
                         nlohmann::json{{"destination", name}, {"purged", n}, {"remaining", *remaining}}.dump());
  }

  Response archives_and_replays(const Request& req, const Parts& parts) const { return handle_archives(req, parts); }

  Response rules(const Request& req, const Parts&) const {
    nlohmann::json out = nlohmann::json::array();
    if (auto r = deps_.routing()) {
      for (const auto& [name, bus] : r->buses)
        for (const auto& rule : bus.rules) {
          nlohmann::json targets = nlohmann::json::array();
          for (const auto& t : rule.targets)
            targets.push_back(t.bus.empty() ? nlohmann::json{{"id", t.id}, {"destination", t.destination}}
                                            : nlohmann::json{{"id", t.id}, {"bus", t.bus}});
          out.push_back({{"name", rule.name}, {"bus", name}, {"arn", rule.arn}, {"targets", targets}});
        }
    }
    return json_response(req, http::status::ok, nlohmann::json{{"rules", out}}.dump());
  }

  // Every subscriber with its state, position and backlog.
  Response subscribers(const Request& req, const Parts&) const {
    Subscribers* subscribers = deps_.subscribers ? deps_.subscribers() : nullptr;
    if (!subscribers)
      return error_response(req, http::status::service_unavailable, "ServiceUnavailable",
                            "Subscribers are not running yet.");
    std::string out = "{\"subscribers\":[";
    bool first = true;
    for (const auto& s : subscribers->list()) {
      out += (first ? "" : ",") + subscriber_json(s);
      first = false;
    }
    return json_response(req, http::status::ok, out + "]}");
  }

  // POST /admin/subscribers/{bus}/{name}/release with {"group": "..."}: a
  // parked FIFO group goes on.
  Response release_group(const Request& req, const Parts& parts) const {
    Subscribers* subscribers = deps_.subscribers ? deps_.subscribers() : nullptr;
    if (!subscribers)
      return error_response(req, http::status::service_unavailable, "ServiceUnavailable",
                            "Subscribers are not running yet.");
    const auto body = nlohmann::json::parse(req.body(), nullptr, false);
    if (!body.is_object() || !body.contains("group") || !body["group"].is_string())
      return error_response(req, http::status::bad_request, "InvalidInputException",
                            R"(The body must be {"group": "<the parked group's id>"}.)");
    const std::string bus(parts[2]), name(parts[3]), group = body["group"].get<std::string>();
    const ReleaseAnswer a = subscribers->release(bus, name, group);
    if (a.http_status != 0) return error_response(req, static_cast<http::status>(a.http_status), a.code, a.message);
    core::log::info("FIFO group release requested", {{"bus", bus}, {"subscriber", name}, {"group", group}});
    return json_response(
        req, http::status::ok,
        nlohmann::json{{"bus", bus}, {"subscriber", name}, {"group", group}, {"released", true}}.dump());
  }

  // GET /admin/archives, POST|GET /admin/replays, GET /admin/replays/{name},
  // POST /admin/replays/{name}/cancel.
  Response handle_archives(const Request& req, const std::vector<std::string_view>& parts) const {
    if (parts[1] == "archives") {
      if (req.method() != http::verb::get || parts.size() != 2)
        return error_response(req, http::status::method_not_allowed, "MethodNotAllowed", "Use GET /admin/archives.");
      nlohmann::json out = nlohmann::json::array();
      if (auto r = deps_.routing()) {
        for (const auto& [name, a] : r->archives) {
          const auto stats = deps_.store.archive_stats(name);
          nlohmann::json j{{"name", name},
                           {"bus", a.bus},
                           {"state", "ENABLED"},
                           {"retention_days", a.retention_days},
                           {"event_count", stats.events},
                           {"size_bytes", stats.bytes}};
          if (!a.event_pattern.empty()) j["event_pattern"] = a.event_pattern;
          if (!a.description.empty()) j["description"] = a.description;
          out.push_back(std::move(j));
        }
      }
      return json_response(req, http::status::ok, nlohmann::json{{"archives", out}}.dump());
    }
    Replayer* replayer = deps_.replayer();
    if (!replayer)
      return error_response(req, http::status::not_implemented, "NotSupported", "Replays are not available.");
    auto answer = [&](const ReplayAnswer& a, http::status ok) {
      if (a.http_status != 0) return error_response(req, static_cast<http::status>(a.http_status), a.code, a.message);
      return json_response(req, ok, replay_json(a.status));
    };
    if (parts.size() == 2 && req.method() == http::verb::get) {
      std::string out = "{\"replays\":[";
      bool first = true;
      for (const auto& s : replayer->list()) {
        out += (first ? "" : ",") + replay_json(s);
        first = false;
      }
      return json_response(req, http::status::ok, out + "]}");
    }
    if (parts.size() == 2 && req.method() == http::verb::post) {
      const auto body = nlohmann::json::parse(req.body(), nullptr, false);
      auto bad = [&](const std::string& message) {
        return error_response(req, http::status::bad_request, "ValidationException", message);
      };
      if (!body.is_object())
        return bad("The body must be a JSON object {\"name\", \"archive\", \"start_time\", \"end_time\", \"rules\"?}.");
      ReplayRequest r;
      for (const char* key : {"name", "archive", "start_time", "end_time"})
        if (!body.contains(key) || !body[key].is_string())
          return bad(std::string("'") + key + "' is required and must be a string.");
      r.name = body["name"];
      r.archive = body["archive"];
      const auto start = core::parse_time_ms(body["start_time"].get<std::string>());
      const auto end = core::parse_time_ms(body["end_time"].get<std::string>());
      if (!start) return bad("Parameter EventStartTime is not valid. Reason: not an ISO 8601 timestamp.");
      if (!end) return bad("Parameter EventEndTime is not valid. Reason: not an ISO 8601 timestamp.");
      r.start_ms = *start;
      r.end_ms = *end;
      if (body.contains("rules") && !body["rules"].is_null()) {
        if (!body["rules"].is_array()) return bad("'rules' must be a list of rule names.");
        for (const auto& rule : body["rules"]) {
          if (!rule.is_string()) return bad("'rules' must be a list of rule names.");
          r.rules.push_back(rule);
        }
      }
      if (body.contains("description") && body["description"].is_string()) r.description = body["description"];
      return answer(replayer->start_replay(r), http::status::created);
    }
    const std::string name(parts.size() >= 3 ? parts[2] : "");
    if (parts.size() == 3 && req.method() == http::verb::get) {
      auto s = replayer->get(name);
      if (!s)
        return error_response(req, http::status::not_found, "ResourceNotFoundException",
                              "Replay " + name + " does not exist.");
      return json_response(req, http::status::ok, replay_json(*s));
    }
    if (parts.size() == 4 && parts[3] == "cancel" && req.method() == http::verb::post)
      return answer(replayer->cancel(name), http::status::ok);
    return no_route(req);
  }

  bool known_destination(const std::string& name) const {
    for (const auto& s : deps_.dispatcher.stats())
      if (s.name == name) return true;
    return false;
  }

  // The `limit` query parameter, when there is one: a whole number from 1
  // to 10000. False when it is something else.
  static bool query_limit(std::string_view target, size_t* limit) {
    const auto q = target.find('?');
    if (q == std::string_view::npos) return true;
    std::string_view query = target.substr(q + 1);
    while (!query.empty()) {
      const auto amp = query.find('&');
      const std::string_view pair = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
      if (pair.substr(0, 6) != "limit=") continue;
      const std::string_view v = pair.substr(6);
      size_t n = 0;
      const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || end != v.data() + v.size() || n < 1 || n > 10000) return false;
      *limit = n;
    }
    return true;
  }

  // GET /admin/dlq/{destination}: dead letters with EventBridge's DLQ
  // attributes; the body is the original event.
  Response list_dlq(const Request& req, const std::string& destination, size_t limit) const {
    nlohmann::json entries = nlohmann::json::array();
    const auto letters = deps_.store.list_dead_letters(destination, limit);
    if (!letters) return store_failure(req, letters.status());
    const auto depth = deps_.store.count_dead_letters(destination);
    if (!depth) return store_failure(req, depth.status());
    for (const auto& d : *letters) {
      const auto& t = d.task;
      // Kept with the dead letter; records of earlier versions look the
      // event up, and when it is gone the entry stays with a null body.
      const std::string event = !d.event_envelope.empty()
                                    ? d.event_envelope
                                    : deps_.store.event_envelope(t.ingested_ms, t.event_id).value_or("");
      std::string target_arn = t.rule_arn;
      if (const auto r = target_arn.find(":rule/"); r != std::string::npos)
        target_arn = target_arn.substr(0, r) + ":api-destination/" + t.destination;
      nlohmann::json attributes = {{"RULE_ARN", t.rule_arn},
                                   {"TARGET_ARN", target_arn},
                                   {"ERROR_CODE", d.error_code},
                                   {"ERROR_MESSAGE", d.error_message},
                                   {"RETRY_ATTEMPTS", std::to_string(t.attempts > 0 ? t.attempts - 1 : 0)}};
      if (!d.exhausted_condition.empty()) attributes["EXHAUSTED_RETRY_CONDITION"] = d.exhausted_condition;
      entries.push_back(
          {{"body", event.empty() ? nlohmann::json(nullptr) : nlohmann::json::parse(event, nullptr, false)},
           {"attributes", attributes},
           {"event_id", t.event_id},
           {"request_id", t.request_id},
           {"rule", t.rule},
           {"target", t.target},
           {"destination", t.destination},
           {"attempts", t.attempts},
           {"last_status", t.last_status},
           {"ingested_at", core::format_time_ms(t.ingested_ms)},
           {"dead_lettered_at", core::format_time_ms(d.dead_ms)}});
    }
    return json_response(req, http::status::ok,
                         nlohmann::json{{"destination", destination}, {"dlq_depth", *depth}, {"entries", entries}}.dump(
                             -1, ' ', false, nlohmann::json::error_handler_t::replace));
  }

  // POST /admin/test-event-pattern: EventBridge's TestEventPattern.
  static Response test_event_pattern(const Request& req) {
    const auto body = nlohmann::json::parse(req.body(), nullptr, false);
    if (!body.is_object() || !body.contains("EventPattern") || !body.contains("Event") ||
        !body["EventPattern"].is_string() || !body["Event"].is_string())
      return error_response(req, http::status::bad_request, "ValidationException",
                            "The body must be {\"EventPattern\": \"<pattern JSON>\", \"Event\": \"<event JSON>\"}.");
    const auto& pattern = body["EventPattern"].get_ref<const std::string&>();
    const auto& event = body["Event"].get_ref<const std::string&>();
    rules::PatternError invalid;
    if (!rules::validate_pattern(pattern, &invalid))
      return error_response(req, http::status::bad_request, "InvalidEventPatternException", invalid.describe());
    const auto result = rules::test_event_pattern(pattern, event);
    if (!result)
      return error_response(req, http::status::bad_request, "ValidationException", result.status().message());
    return json_response(req, http::status::ok, *result ? R"({"Result":true})" : R"({"Result":false})");
  }

  AdminApiDeps deps_;
};

AdminApi::AdminApi(AdminApiDeps deps) : impl_(std::make_unique<Impl>(std::move(deps))) {}
AdminApi::~AdminApi() = default;
Response AdminApi::handle(const Request& req) const { return impl_->handle(req); }

}  // namespace switchyard::bus
