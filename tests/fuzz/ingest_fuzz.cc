// Fuzz target: the ingest parsers that face the network, on arbitrary bytes:
// the PutEvents body, the /buses/{bus}/events body, a webhook payload, and
// the v2 PutEvents/PutRawEvents bodies in JSON and in RPC v2 CBOR.
// Each must answer (an error says why), never crash or recurse on depth, and
// what it accepts must stay within the limits it enforces.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "switchyard/bus/ingest.h"
#include "switchyard/core/json_limits.h"

namespace {

namespace bus = switchyard::bus;

const bus::BusSettings& default_bus() {
  static const bus::BusSettings b = [] {
    bus::BusSettings c;
    c.name = "default";
    c.logged = true;
    return c;
  }();
  return b;
}

const bus::BusSettings* lookup(const void*, std::string_view name) {
  return name == "default" ? &default_bus() : nullptr;
}

void check(const bus::ParsedRequest& p) {
  if (p.error.http_status != 0 && p.error.message.empty()) __builtin_trap();  // a refusal says why
  size_t ok = 0;
  for (const auto& r : p.results) ok += r.ok();
  if (ok != p.events.size()) __builtin_trap();  // every accepted entry is an event
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  // CBOR first: its reader checks nesting itself, whatever the bytes.
  for (auto op : {bus::V2Operation::kPutEvents, bus::V2Operation::kPutRawEvents})
    check(bus::parse_v2_publish(op, bus::WireFormat::kCbor, body, lookup, nullptr, 1767225600000));
  // The server refuses deeper bodies before any parser sees them.
  if (switchyard::core::json_nesting_depth(body, switchyard::core::kMaxBodyDepth) > switchyard::core::kMaxBodyDepth)
    return 0;
  const int64_t now = 1767225600000;
  check(bus::parse_put_events(body, lookup, nullptr, now));
  check(bus::parse_bus_events(body, default_bus(), now));
  bus::WebhookSettings hook;
  hook.name = "hook";
  hook.source = "fuzz";
  hook.detail_type = "t";
  check(bus::parse_webhook(body, hook, default_bus(), "", now));
  for (auto op : {bus::V2Operation::kPutEvents, bus::V2Operation::kPutRawEvents})
    check(bus::parse_v2_publish(op, bus::WireFormat::kJson, body, lookup, nullptr, now));
  return 0;
}
