"""Subscribers of bus logs (eventbridge-v2.md §1.3, §3, §6) through the real
binary: starting positions (LATEST sees none of the earlier events, HORIZON
all of them as REPLAY, a timestamp the later ones, an end point stops it),
pause and resume both ways, filters by scope, an event-bus target, the dead
letter queue, and a restart that neither repeats nor skips an event."""

import binascii
import datetime
import json
import time
import unittest
import urllib.error
import urllib.request

from harness import Receiver, Service, admin_json, wait_until

BASE = """
server: {{listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0}}
buses:
  - name: default
  - {{name: positions, retention_days: 1}}
  - name: pause
  - name: shop
  - name: audit
  - name: durable
  - {{name: orders, retention_days: 1}}
api_destinations:
{destinations}
rules:
  - {{name: audited, bus: audit, event_pattern: {{source: [shop]}}, targets: [{{id: t, destination: audit-rule}}]}}
subscribers:
{subscribers}
"""


# What botocore 1.43's rpc-v2-cbor serializer sends for put_events(EventBusArn=
# "arn:aws:events:us-east-1:000000000000:event-busv2/orders/abcdefghijklmnopqrstuvwxy", Entries=[{Source: shop,
# DetailType: OrderPlaced, Detail: '{"total": 7}', Time: 2026-12-01T12:00:00Z, Resources: [r1],
# SystemMetadata: {EventGroupId: g, DeduplicationId: cbor-1}}]) (tests/bus/ingest_v2_test.cc has the same).
BOTOCORE_PUT_EVENTS = binascii.unhexlify(
    "a26b4576656e7442757341726e785261726e3a6177733a6576656e74733a75732d656173742d313a3030303030303030303030303a6576"
    "656e742d62757376322f6f72646572732f6162636465666768696a6b6c6d6e6f7071727374757677787967456e747269657381a66653"
    "6f757263656473686f706a44657461696c547970656b4f72646572506c616365646644657461696c6c7b22746f74616c223a20377d64"
    "54696d65c11a6b0eb6c0695265736f7572636573816272316e53797374656d4d65746164617461a26c4576656e7447726f7570496461"
    "676f44656475706c69636174696f6e49646663626f722d31")


def cbor_decode(data):
    """Just enough CBOR for the answers: maps, arrays, text, unsigned ints."""
    def item(i):
        major, info = data[i] >> 5, data[i] & 0x1f
        i += 1
        if info < 24:
            n = info
        else:
            size = 1 << (info - 24)
            n = int.from_bytes(data[i:i + size], "big")
            i += size
        if major == 0:
            return n, i
        if major == 3:
            return data[i:i + n].decode(), i + n
        if major == 4:
            out = []
            for _ in range(n):
                v, i = item(i)
                out.append(v)
            return out, i
        if major == 5:
            out = {}
            for _ in range(n):
                k, i = item(i)
                out[k], i = item(i)
            return out, i
        raise ValueError("unexpected CBOR major type %d" % major)
    return item(0)[0]


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class SubscribersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.receiver = Receiver(responder=lambda r, i: (400 if r["path"] == "/failing" else 200, {}, "", 0))
        cls.subscribers = {
            "keeper": "{name: keeper, bus: pause, state: STOPPED, target: {destination: keeper}}",
            "skipper": "{name: skipper, bus: pause, state: STOPPED, resume_position: LATEST, "
                       "target: {destination: skipper}}",
            "big": "{name: big, bus: shop, target: {destination: big, input_path: $.detail}, filters: ["
                   "{scope: DATA, pattern: {detail: {total: [{numeric: ['>', 100]}]}}}, "
                   "{scope: SYSTEM_METADATA, pattern: {'aws:DetailType': [OrderPlaced]}}]}",
            "meta": "{name: meta, bus: shop, target: {destination: meta}, "
                    "filters: [{scope: METADATA, pattern: {tenant: [acme]}}]}",
            "forward": "{name: forward, bus: shop, target: {bus: audit}}",
            "failing": "{name: failing, bus: shop, target: {destination: failing, "
                       "retry_policy: {maximum_retry_attempts: 0}}}",
            "once": "{name: once, bus: durable, target: {destination: once}}",
            "v2": "{name: v2, bus: orders, transform: WITH_METADATA, target: {destination: v2}}",
            "acme": "{name: acme, bus: orders, target: {destination: acme}, "
                    "filters: [{scope: METADATA, pattern: {tenant: [acme]}}, "
                    "{scope: SYSTEM_METADATA, pattern: {ContentType: [application/json]}}]}",
        }
        cls.service = Service(cls.config()).start()

    @classmethod
    def config(cls):
        names = list(dict.fromkeys(list(cls.subscribers) + ["audit-rule", "latest", "horizon", "midpoint", "window"]))
        destinations = "\n".join('  - {name: %s, endpoint: "http://127.0.0.1:%d/%s"}' % (n, cls.receiver.port, n)
                                 for n in names)
        subs = "\n".join("  - " + s for s in cls.subscribers.values())
        return BASE.format(destinations=destinations, subscribers=subs)

    @classmethod
    def tearDownClass(cls):
        cls.service.cleanup()
        cls.receiver.close()

    def reload(self):
        self.service.write_config(self.config())
        status, text = self.service.request("POST", "/admin/reload", b"", admin=True)
        self.assertEqual(status, 200, text)

    def status(self, name):
        _, out = admin_json(self.service, "GET", "/admin/subscribers")
        return next((s for s in out["subscribers"] if s["name"] == name), None)

    def wait_state(self, name, state):
        self.assertTrue(wait_until(lambda: (self.status(name) or {}).get("state") == state, timeout=20),
                        "%s never became %s: %s" % (name, state, self.status(name)))

    def publish(self, bus, entries):
        status, out = self.service.post("/buses/%s/events" % bus, entries)
        self.assertEqual(status, 200, out)
        self.assertEqual(out["FailedEntryCount"], 0, out)
        return [e["EventId"] for e in out["Entries"]]

    def received(self, path):
        return [r for r in self.receiver.requests if r["path"] == "/" + path]

    def settle(self, path, n, timeout=20):
        """Waits for n requests on `path`, then a little more for any extra."""
        wait_until(lambda: len(self.received(path)) >= n, timeout=timeout)
        time.sleep(0.8)
        return self.received(path)

    def ids(self, path, n):
        """The event ids `path` received (exactly n expected), sorted."""
        return sorted(json.loads(r["body"])["id"] for r in self.settle(path, n))

    def test_starting_positions_and_end_point(self):
        early = self.publish("positions", [{"source": "s", "detail-type": "t", "detail": {"n": i}} for i in (1, 2)])
        time.sleep(1.2)
        midpoint = now_iso()
        time.sleep(0.3)
        later = self.publish("positions", [{"source": "s", "detail-type": "t", "detail": {"n": i}} for i in (3, 4, 5)])
        self.subscribers.update({
            "latest": "{name: latest, bus: positions, target: {destination: latest}}",
            "horizon": "{name: horizon, bus: positions, starting_position: HORIZON, transform: WITH_METADATA, "
                       "target: {destination: horizon}}",
            "midpoint": "{name: midpoint, bus: positions, starting_position: '%s', target: {destination: midpoint}}"
                        % midpoint,
            "window": "{name: window, bus: positions, starting_position: HORIZON, end_position: '%s', "
                      "target: {destination: window}}" % midpoint,
        })
        self.reload()
        for name in ("latest", "horizon", "midpoint"):
            self.wait_state(name, "RUNNING")
        self.wait_state("window", "ENDED")
        live = self.publish("positions", [{"source": "s", "detail-type": "t", "detail": {"n": 6}}])

        # UNORDERED subscribers deliver in parallel: compared in log order.
        horizon = sorted((json.loads(r["body"]) for r in self.settle("horizon", 6)),
                         key=lambda h: int(h["SystemMetadata"]["aws:SequenceNumber"]))
        self.assertEqual([h["Data"]["id"] for h in horizon], early + later + live)
        self.assertEqual([h["SystemMetadata"]["aws:DeliveryType"] for h in horizon], ["REPLAY"] * 5 + ["LIVE"])
        self.assertEqual(len({h["SystemMetadata"]["aws:SequenceNumber"] for h in horizon}), 6)
        self.assertEqual(self.ids("midpoint", 4), sorted(later + live))
        self.assertEqual(self.ids("latest", 1), live)
        self.assertEqual(self.ids("window", 2), sorted(early))
        self.assertEqual(self.status("window")["state"], "ENDED")

    def test_pause_and_resume_from_last_processed_or_latest(self):
        self.wait_state("keeper", "STOPPED")
        self.wait_state("skipper", "STOPPED")
        backlog = self.publish("pause", [{"source": "s", "detail-type": "t", "detail": {"n": i}} for i in (1, 2, 3)])
        time.sleep(0.8)
        self.assertEqual(self.received("keeper") + self.received("skipper"), [])
        self.assertEqual(self.status("keeper")["backlog"], 3)
        self.subscribers["keeper"] = "{name: keeper, bus: pause, target: {destination: keeper}}"
        self.subscribers["skipper"] = ("{name: skipper, bus: pause, resume_position: LATEST, "
                                       "target: {destination: skipper}}")
        self.reload()
        self.wait_state("keeper", "RUNNING")
        self.wait_state("skipper", "RUNNING")
        after = self.publish("pause", [{"source": "s", "detail-type": "t", "detail": {"n": 4}}])
        self.assertEqual(self.ids("keeper", 4), sorted(backlog + after))
        self.assertEqual(self.ids("skipper", 1), after)

    def test_filters_by_scope_and_an_event_bus_target(self):
        ids = self.publish("shop", [{"source": "shop", "detail-type": "OrderPlaced", "detail": {"total": 500}},
                                    {"source": "shop", "detail-type": "OrderPlaced", "detail": {"total": 5}},
                                    {"source": "shop", "detail-type": "Refund", "detail": {"total": 900}}])
        self.assertEqual([json.loads(r["body"]) for r in self.settle("big", 1)], [{"total": 500}])
        # METADATA comes with raw publishes only: an envelope never matches it.
        self.assertEqual(self.received("meta"), [])
        # The bus target puts every event on "audit", whose rule delivers it.
        self.assertEqual(self.ids("audit-rule", 3), sorted(ids))
        # A 400 is not retried (as for rule targets) and goes to the DLQ.
        self.settle("failing", 3)
        dlq = wait_until(lambda: len(admin_json(self.service, "GET", "/admin/dlq/failing?limit=10")[1]["entries"]) == 3)
        self.assertTrue(dlq)
        _, out = admin_json(self.service, "GET", "/admin/dlq/failing?limit=10")
        self.assertIn("subscriber/shop/failing", json.dumps(out["entries"][0]))

    def v2(self, operation, body, cbor=False):
        headers = {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"} if cbor else \
            {"Content-Type": "application/json"}
        url = "http://%s/service/AWSEventsV2/operation/%s" % (self.service.ingest, operation)
        req = urllib.request.Request(url, data=body if cbor else json.dumps(body).encode(), method="POST",
                                     headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status, raw, ctype = r.status, r.read(), r.headers.get("Content-Type")
        except urllib.error.HTTPError as e:
            status, raw, ctype = e.code, e.read(), e.headers.get("Content-Type")
        if cbor:
            self.assertEqual(ctype, "application/cbor")
            return status, cbor_decode(raw)
        return status, json.loads(raw)

    def test_v2_publishes_in_cbor_and_json(self):
        status, out = self.v2("PutEvents", BOTOCORE_PUT_EVENTS, cbor=True)
        self.assertEqual(status, 200, out)
        self.assertEqual(out["FailedEntryCount"], 0)
        first = out["Entries"][0]
        self.assertEqual(first["SuccessCode"], "PUBLISHED")
        # The same id in the same group within the window: DEDUPLICATED, the first event's id.
        status, again = self.v2("PutEvents", BOTOCORE_PUT_EVENTS, cbor=True)
        self.assertEqual(again["Entries"][0], {"EventId": first["EventId"], "SuccessCode": "DEDUPLICATED"})
        # Deduplication is scoped by group: the same id in another group is a new event.
        status, raw = self.v2("PutRawEvents", {
            "EventBusArn": "orders",
            "Entries": [{"Data": binascii.b2a_base64(b'{"sku": "A-1"}').decode().strip(),
                         "SystemMetadata": {"ContentType": "application/json", "EventGroupId": "other",
                                            "DeduplicationId": "cbor-1"},
                         "Metadata": {"tenant": "acme"}},
                        {"Data": "AAE=", "SystemMetadata": {"ContentType": "text/plain"}}]})
        self.assertEqual(status, 200, raw)
        self.assertEqual(raw["FailedEntryCount"], 1)
        self.assertEqual(raw["Entries"][0]["SuccessCode"], "PUBLISHED")
        self.assertTrue(raw["Entries"][1]["ErrorMessage"].startswith("Unsupported contentType: text/plain."))
        status, missing = self.v2("PutEvents", {"EventBusArn": "nope", "Entries": [{"Source": "s", "DetailType": "t"}]})
        self.assertEqual((status, missing["__type"]), (404, "ResourceNotFoundException"))

        got = sorted((json.loads(r["body"]) for r in self.settle("v2", 2)),
                     key=lambda b: int(b["SystemMetadata"]["aws:SequenceNumber"]))
        self.assertEqual(got[0]["SystemMetadata"]["aws:SequenceNumber"], first["SequenceNumber"])
        self.assertEqual(got[0]["Data"]["time"], "2026-12-01T12:00:00Z")  # the CBOR timestamp
        self.assertEqual(got[0]["Data"]["detail"], {"total": 7})
        self.assertEqual(got[0]["SystemMetadata"]["EventGroupId"], "g")
        self.assertEqual(got[0]["SystemMetadata"]["DeduplicationId"], "cbor-1")
        self.assertEqual(got[1]["Data"], {"sku": "A-1"})
        self.assertEqual(got[1]["Metadata"], {"tenant": "acme"})
        self.assertEqual(got[1]["SystemMetadata"]["ContentType"], "application/json")
        self.assertEqual(got[1]["SystemMetadata"]["aws:SequenceNumber"], raw["Entries"][0]["SequenceNumber"])
        # METADATA filters see a raw publish's Metadata (exact values); RAW delivers the bytes as published.
        self.assertEqual([r["body"] for r in self.settle("acme", 1)], ['{"sku": "A-1"}'])

    def test_a_restart_neither_repeats_nor_skips(self):
        first = self.publish("durable", [{"source": "s", "detail-type": "t", "detail": {"n": i}} for i in (1, 2, 3)])
        self.settle("once", 3)
        self.service.stop()
        self.service.start()
        # "durable" has no retention_days: its log keeps events only until
        # every subscriber has read them (the retention pass at start trims).
        self.assertTrue(wait_until(lambda: (self.status("once") or {}).get("log_first_position") == 4),
                        self.status("once"))
        second = self.publish("durable", [{"source": "s", "detail-type": "t", "detail": {"n": i}} for i in (4, 5)])
        self.assertEqual(self.ids("once", 5), sorted(first + second))


if __name__ == "__main__":
    unittest.main()
