#include "ingest_api.h"

#include <prometheus/counter.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <future>
#include <utility>
#include <vector>

#include "switchyard/bus/auth.h"
#include "switchyard/bus/cloudevents.h"
#include "switchyard/core/log.h"
#include "switchyard/core/time.h"
#include "switchyard/rules/matcher.h"

namespace switchyard::bus {

namespace asio = boost::asio;

namespace {

// Awaits Pipeline::commit, resuming on the caller's executor.
template <class Token>
auto async_commit(Pipeline& pipeline, std::shared_ptr<storage::IngestBatch> batch, Token&& token) {
  return asio::async_initiate<Token, void(core::Status)>(
      [&pipeline](auto handler, std::shared_ptr<storage::IngestBatch> b) {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        auto ex = asio::get_associated_executor(*shared);
        pipeline.commit(std::move(b), [shared, ex](core::Status st) {
          asio::post(ex, [shared, st = std::move(st)]() mutable { (*shared)(std::move(st)); });
        });
      },
      token, std::move(batch));
}

}  // namespace

asio::awaitable<Response> IngestApi::handle(const Request& req) {
  const auto parts = segments(req.target());
  if (parts.empty() && req.method() == http::verb::post) co_return co_await handle_aws(req);
  if (parts.empty() || parts[0] == "healthz" || parts[0] == "readyz") {
    if (req.method() != http::verb::get && req.method() != http::verb::head)
      co_return error_response(req, http::status::method_not_allowed, "MethodNotAllowed", "Use GET.");
    if (!parts.empty() && parts[0] == "readyz" && !deps_.routing())
      co_return error_response(req, http::status::service_unavailable, "NotReady", "No configuration loaded.");
    if (!parts.empty() && parts[0] == "readyz")
      if (const core::Status st = deps_.pipeline.readiness(); !st)
        co_return error_response(req, http::status::service_unavailable, "NotReady",
                                 "Events cannot be stored now: " + st.message() + ".");
    if (parts.empty()) co_return error_response(req, http::status::not_found, "NotFound", "No route for GET /.");
    co_return json_response(req, http::status::ok,
                            parts[0] == "healthz" ? R"({"status":"ok"})" : R"({"status":"ready"})");
  }
  if (parts.size() == 4 && parts[0] == "service" && parts[1] == "AWSEventsV2" && parts[2] == "operation")
    co_return co_await handle_v2(req, parts[3]);
  const bool events_route = parts.size() == 3 && parts[0] == "buses" && parts[2] == "events";
  const bool webhook_route = parts.size() == 2 && parts[0] == "webhooks";
  if (!events_route && !webhook_route) co_return no_route(req);
  if (req.method() != http::verb::post)
    co_return error_response(req, http::status::method_not_allowed, "MethodNotAllowed", "Use POST.");

  const auto routing_snapshot = deps_.routing();
  if (!routing_snapshot)
    co_return error_response(req, http::status::service_unavailable, "NotReady", "No configuration loaded.");
  const int64_t now = core::now_ms();
  ParsedRequest parsed;
  if (events_route) {
    auto it = routing_snapshot->buses.find(std::string(parts[1]));
    if (it == routing_snapshot->buses.end())
      co_return error_response(req, http::status::not_found, "ResourceNotFoundException",
                               "Event bus " + std::string(parts[1]) + " does not exist.");
    if (!it->second.bus.ingest_tokens.empty() &&
        !bearer_allowed(req[http::field::authorization], it->second.bus.ingest_tokens))
      co_return unauthorized(req, "A valid bearer token for bus " + it->second.bus.name + " is required.");
    if (const CloudEventsMode ce = cloudevents_mode(req[http::field::content_type], req["ce-specversion"]);
        ce != CloudEventsMode::kNone) {
      parsed = parse_cloudevents(
          ce, req.body(), [&req](std::string_view name) { return req[name]; }, it->second.bus, now,
          deps_.options.max_put_events_bytes);
    } else {
      parsed =
          parse_bus_events(req.body(), it->second.bus, now, deps_.options.max_put_events_bytes, req["Idempotency-Key"]);
    }
  } else {
    auto it = routing_snapshot->webhooks.find(std::string(parts[1]));
    if (it == routing_snapshot->webhooks.end())
      co_return error_response(req, http::status::not_found, "ResourceNotFoundException",
                               "Webhook " + std::string(parts[1]) + " does not exist.");
    const auto& hook = it->second;
    const auto& hook_bus = routing_snapshot->buses.at(hook.bus).bus;
    if (!hook_bus.ingest_tokens.empty() && !bearer_allowed(req[http::field::authorization], hook_bus.ingest_tokens))
      co_return unauthorized(req, "A valid bearer token for bus " + hook_bus.name + " is required.");
    if (hook.verified) {
      const core::Status verified = verify_webhook(
          hook.verify, [&req](std::string_view name) { return req[name]; }, req.body(), now / 1000);
      if (!verified) {
        core::log::warn("webhook signature refused", {{"webhook", hook.name}, {"reason", verified.message()}});
        co_return unauthorized(req, "Signature verification failed: " + verified.message() + ".");
      }
    }
    std::string_view header;
    if (!hook.detail_type_header.empty()) header = req[hook.detail_type_header];
    const std::string dedup_id = webhook_dedup_id(
        hook, [&req](std::string_view name) { return req[name]; }, req.body());
    parsed = parse_webhook(req.body(), hook, routing_snapshot->buses.at(hook.bus).bus, header, now,
                           deps_.options.max_put_events_bytes, dedup_id);
  }
  if (parsed.error.http_status != 0)
    co_return error_response(req, static_cast<http::status>(parsed.error.http_status), parsed.error.code,
                             parsed.error.message);
  if (const core::Status stored = co_await commit(*routing_snapshot, parsed, req["x-request-id"]); !stored)
    co_return error_response(
        req, http::status::service_unavailable, "ServiceUnavailable",
        "The events could not be stored (" + stored.message() + "); nothing was accepted. Retry later.");
  // A webhook's one event: a sender retries on anything but a 2xx.
  if (webhook_route && !parsed.results.empty() && !parsed.results.front().ok()) {
    const EntryResult& r = parsed.results.front();
    co_return error_response(
        req,
        r.error_code == "ConcurrentModificationException" ? http::status::conflict : http::status::service_unavailable,
        r.error_code, r.error_message);
  }
  co_return json_response(req, http::status::ok, put_events_response(parsed.results));
}

// Matches and renders the accepted events, stores them with their
// deliveries in one write, then hands the deliveries to the dispatcher.
asio::awaitable<core::Status> IngestApi::commit(const Routing& routing, ParsedRequest& parsed,
                                                std::string_view request) {
  std::vector<storage::DedupRecord> claimed;
  co_await deps_.dedup.claim(routing, parsed, &claimed);
  if (parsed.events.empty()) co_return core::Status::ok();
  auto batch = std::make_shared<storage::IngestBatch>();
  batch->dedup = std::move(claimed);
  // Claims whose batch is not stored, however this ends (a store failure,
  // an exception while routing), are given back: a key left claimed would
  // answer "retry" to its publisher until the process restarts.
  struct GiveBackUnlessStored {
    DedupGate& gate;
    const std::vector<storage::DedupRecord>& records;
    bool stored = false;
    ~GiveBackUnlessStored() {
      if (!stored && !records.empty()) gate.release(records);
    }
  } claims{deps_.dedup, batch->dedup};
  // Per event: the index of its own bus's log entry in batch->log (npos:
  // its bus keeps no log).
  std::vector<size_t> own_entry(parsed.events.size(), std::string::npos);
  co_await deps_.cpu.run([&] {  // matching and rendering
    batch->envelopes.reserve(parsed.events.size());
    for (size_t i = 0; i < parsed.events.size(); ++i) {
      core::Event& e = parsed.events[i];
      const BusRoute& bus = routing.buses.at(e.bus);
      const size_t logged = batch->log.size();
      if (i < parsed.raw.size() && !parsed.raw[i].content_type.empty()) {  // PutRawEvents: the log only
        RawData& raw = parsed.raw[i];
        storage::LogEntry entry;
        entry.bus = e.bus;
        entry.event_id = e.id;
        entry.ingested_ms = e.ingested_ms;
        entry.content_type = std::move(raw.content_type);
        entry.data = std::move(raw.data);
        entry.metadata = std::move(raw.metadata);
        batch->log.push_back(std::move(entry));
      } else {
        // Serialized once: matched, rendered from, and stored as these bytes.
        batch->envelopes.push_back(core::envelope_json(e));
        Pipeline::route(bus, e, batch->envelopes.back(), batch->events.size(), *batch, {.routing = &routing});
        batch->events.push_back(std::move(e));
      }
      if (bus.bus.logged && batch->log.size() > logged) own_entry[i] = logged;
      for (size_t k = logged; k < batch->log.size(); ++k) {
        if (i < parsed.dedup_ids.size()) batch->log[k].dedup_id = parsed.dedup_ids[i];
        if (i < parsed.group_ids.size()) batch->log[k].group_id = parsed.group_ids[i];
      }
    }
  });
  for (auto& t : batch->tasks) t.request_id = request;
  const size_t deliveries = batch->tasks.size();
  const core::Status st = co_await async_commit(deps_.pipeline, batch, asio::use_awaitable);
  if (!st) co_return st;
  claims.stored = true;
  // Each stored entry's log position, for the v2 answers' SequenceNumber:
  // results that stored an event are those accepted and not deduplicated,
  // in the events' order.
  parsed.positions.assign(parsed.results.size(), 0);
  for (size_t r = 0, i = 0; r < parsed.results.size() && i < own_entry.size(); ++r) {
    const EntryResult& result = parsed.results[r];
    if (!result.ok() || result.success_code == "DEDUPLICATED") continue;
    if (own_entry[i] != std::string::npos && own_entry[i] < batch->log_positions.size())
      parsed.positions[r] = batch->log_positions[own_entry[i]];
    ++i;
  }
  for (const auto& e : batch->events) routing.buses.at(e.bus).ingested->Increment();
  for (const auto& l : batch->log)
    if (l.content_type != "application/eventbridge+json") routing.buses.at(l.bus).ingested->Increment();
  if (core::log::enabled(core::log::Level::kDebug)) {
    std::string ids;
    for (const auto& e : batch->events) ids += (ids.empty() ? "" : ",") + e.id;
    core::log::debug(
        "events stored",
        {{"request_id", std::string(request)}, {"event_ids", ids}, {"deliveries", std::to_string(deliveries)}});
  }
  co_return core::Status::ok();
}

// Who may put each entry of a PutEvents request: a bus with access_keys
// takes entries signed (SigV4) with one of its keys, a bus with
// ingest_tokens entries whose request carries one of its bearer tokens
// (either, when it has both), any other bus any entry. Entries refused
// fail alone with AccessDeniedException; when every entry is for a
// keyed bus and none is allowed, the signature's own error refuses the
// request, as AWS does. Returns the request-level error body, if any.
std::optional<std::string> IngestApi::check_signature(const Request& req, const Routing& routing, ParsedRequest& parsed,
                                                      int64_t now_s) {
  auto guarded = [&](const core::Event& e) {
    const auto& bus = routing.buses.at(e.bus).bus;
    return !bus.access_keys.empty() || !bus.ingest_tokens.empty();
  };
  if (std::none_of(parsed.events.begin(), parsed.events.end(), guarded)) return std::nullopt;
  std::vector<AccessKey> keys;
  for (const auto& [_, b] : routing.buses) keys.insert(keys.end(), b.bus.access_keys.begin(), b.bus.access_keys.end());
  const std::string_view target = req.target();
  const auto q = target.find('?');
  const SigV4Result sig =
      keys.empty()
          ? SigV4Result{}
          : verify_sigv4(
                req.method_string(), target.substr(0, q), q == std::string_view::npos ? "" : target.substr(q + 1),
                [&req](std::string_view name) { return req[name]; }, req.body(), keys, now_s);
  const std::string_view authorization = req[http::field::authorization];
  auto allowed_on = [&](const BusSettings& bus) {
    if (bus.access_keys.empty() && bus.ingest_tokens.empty()) return true;
    if (sig.kind == SigV4Result::Kind::kValid &&
        std::any_of(bus.access_keys.begin(), bus.access_keys.end(),
                    [&](const AccessKey& k) { return k.id == sig.access_key_id; }))
      return true;
    return !bus.ingest_tokens.empty() && bearer_allowed(authorization, bus.ingest_tokens);
  };
  if (sig.kind == SigV4Result::Kind::kInvalid &&
      std::all_of(parsed.events.begin(), parsed.events.end(), [&](const core::Event& e) {
        const auto& bus = routing.buses.at(e.bus).bus;
        return !bus.access_keys.empty() && !allowed_on(bus);
      }))
    return aws_error_body(sig.error_type, sig.message);
  std::vector<core::Event> allowed;
  size_t next = 0;
  for (auto& r : parsed.results) {
    if (!r.ok()) continue;
    core::Event& e = parsed.events[next++];
    if (allowed_on(routing.buses.at(e.bus).bus)) {
      allowed.push_back(std::move(e));
    } else {
      r = {"", "AccessDeniedException", "User is not authorized to put events on event bus " + e.bus + ".", ""};
    }
  }
  parsed.events = std::move(allowed);
  return std::nullopt;
}

// POST / : the EventBridge API (AWS JSON 1.1), selected by X-Amz-Target.
asio::awaitable<Response> IngestApi::handle_aws(const Request& req) {
  const std::string_view target = req["X-Amz-Target"];
  const auto routing_snapshot = deps_.routing();
  if (!routing_snapshot)
    co_return aws_response(req, http::status::service_unavailable,
                           aws_error_body("ServiceUnavailableException", "No configuration loaded."));
  if (target == "AWSEvents.PutEvents") {
    const Routing* r = routing_snapshot.get();
    BusLookup lookup = [](const void* ctx, std::string_view name) -> const BusSettings* {
      const auto* routing = static_cast<const Routing*>(ctx);
      auto it = routing->buses.find(std::string(name));
      return it == routing->buses.end() ? nullptr : &it->second.bus;
    };
    const int64_t now = core::now_ms();
    ParsedRequest parsed = parse_put_events(req.body(), lookup, r, now, deps_.options.max_put_events_bytes);
    if (parsed.error.http_status == 0) {
      if (auto denied = check_signature(req, *r, parsed, now / 1000))
        co_return aws_response(req, http::status::forbidden, *denied);
    }
    if (parsed.error.http_status != 0)
      co_return aws_response(req, static_cast<http::status>(parsed.error.http_status),
                             aws_error_body(parsed.error.code, parsed.error.message));
    if (const core::Status stored = co_await commit(*r, parsed, req["x-request-id"]); !stored)
      co_return aws_response(
          req, http::status::service_unavailable,
          aws_error_body("ServiceUnavailableException", "The events could not be stored (" + stored.message() +
                                                            "); nothing was accepted. Retry later."));
    co_return aws_response(req, http::status::ok, put_events_response(parsed.results));
  }
  if (target == "AWSEvents.TestEventPattern") {
    const auto body = nlohmann::json::parse(req.body(), nullptr, false);
    if (!body.is_object() || !body.value("EventPattern", nlohmann::json()).is_string() ||
        !body.value("Event", nlohmann::json()).is_string())
      co_return aws_response(req, http::status::bad_request,
                             aws_error_body("ValidationException", "EventPattern and Event are required strings."));
    const std::string pattern = body["EventPattern"].get<std::string>(), event = body["Event"].get<std::string>();
    rules::PatternError invalid;
    core::Status pattern_ok;
    core::Result<bool> result = false;
    co_await deps_.cpu.run([&] {
      pattern_ok = rules::validate_pattern(pattern, &invalid);
      if (pattern_ok) result = rules::test_event_pattern(pattern, event);
    });
    if (!pattern_ok)
      co_return aws_response(req, http::status::bad_request,
                             aws_error_body("InvalidEventPatternException", invalid.describe()));
    if (!result)
      co_return aws_response(req, http::status::bad_request,
                             aws_error_body("ValidationException", "Parameter Event is not valid."));
    co_return aws_response(req, http::status::ok, *result ? R"({"Result":true})" : R"({"Result":false})");
  }
  co_return aws_response(req, http::status::bad_request,
                         aws_error_body("UnknownOperationException",
                                        target.empty() ? "The X-Amz-Target header is missing."
                                                       : "Operation " + std::string(target) + " is not supported."));
}

}  // namespace switchyard::bus
