"""Rate quotas and isolation through the real binary: a destination's quota
holds in every one-second window over more than ten seconds while another
destination is down, and a backlog survives a restart."""

import json
import socket
import time
import unittest

from harness import Receiver, Service, admin_json, free_port, put_events, wait_until

RATE = 25
EVENTS = 300  # 12 seconds' worth at RATE

CONFIG = """
server: {{listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0}}
api_destinations:
  - {{name: live, endpoint: "http://127.0.0.1:{live}/in", rate_limit_per_second: {rate}}}
  - {{name: dead, endpoint: "http://127.0.0.1:{dead}/in", rate_limit_per_second: {rate}}}
rules:
  - name: r
    event_pattern: {{source: [shop]}}
    targets:
      - {{id: live, destination: live}}
      - {{id: dead, destination: dead}}
"""


def send(service, count):
    ids = []
    for start in range(0, count, 10):
        out = put_events(service, [{"Source": "shop", "DetailType": "t", "Detail": json.dumps({"n": n})}
                                   for n in range(start, min(count, start + 10))])
        assert out["FailedEntryCount"] == 0, out
        ids += [e["EventId"] for e in out["Entries"]]
    return ids


class QuotaTest(unittest.TestCase):
    def test_quota_holds_in_every_window_while_another_destination_is_down(self):
        receiver = Receiver()
        self.addCleanup(receiver.close)
        dead_port = free_port()  # nothing listens there
        service = Service(CONFIG.format(live=receiver.port, dead=dead_port, rate=RATE)).start()
        self.addCleanup(service.cleanup)
        ids = send(service, EVENTS)
        got = receiver.wait_for(EVENTS, timeout=40)
        self.assertEqual(sorted(json.loads(r["body"])["id"] for r in got), sorted(ids))
        at = sorted(r["at"] for r in got)
        # No window of (just under, for receiver-side jitter) one second holds more than RATE arrivals.
        busiest, j = 0, 0
        for i in range(len(at)):
            while at[i] - at[j] >= 0.98:
                j += 1
            busiest = max(busiest, i - j + 1)
        self.assertLessEqual(busiest, RATE)
        # ... and the quota is used in full: 300 at 25/s take 11 seconds after the first burst.
        self.assertGreaterEqual(at[-1] - at[0], 10.9)
        self.assertLessEqual(at[-1] - at[0], 12.5, "the live destination was slowed down by the dead one")
        # The receiver counts arrivals; the dispatcher counts answers, a moment later.
        def destinations():
            ds = {d["name"]: d for d in admin_json(service, "GET", "/admin/destinations")[1]["destinations"]}
            return ds if ds["live"]["delivered"] == EVENTS else None
        dests = wait_until(destinations, timeout=10)
        self.assertTrue(dests, "the dispatcher never counted every delivery")
        self.assertEqual(dests["dead"]["state"], "open_circuit")
        self.assertEqual(dests["dead"]["queued"], EVENTS)
        self.assertEqual(dests["live"]["delivered"], EVENTS)
        self.assertGreater(dests["live"]["delivery_rate_per_second"], RATE * 0.8)
        self.assertLessEqual(dests["live"]["delivery_rate_per_second"], RATE)
        metrics = service.request("GET", "/metrics", admin=True)[1]
        for line in ('switchyard_destination_circuit_open{destination="dead"} 1',
                     'switchyard_destination_circuit_open{destination="live"} 0',
                     'switchyard_delivery_queue_depth{destination="dead"} %d' % EVENTS,
                     'switchyard_deliveries_delivered_total{destination="live"} %d' % EVENTS,
                     'switchyard_delivery_attempt_seconds_count{destination="live"} %d' % EVENTS):
            self.assertIn(line, metrics)


BACKLOG_CONFIG = """
server: {{listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0}}
api_destinations:
  - {{name: rx, endpoint: "http://127.0.0.1:{port}/in", rate_limit_per_second: 1000}}
rules:
  - name: r
    event_pattern: {{source: [shop]}}
    targets: [{{id: t, destination: rx}}]
"""


class BacklogRestartTest(unittest.TestCase):
    def test_a_backlog_is_delivered_once_after_a_restart(self):
        port = free_port()
        service = Service(BACKLOG_CONFIG.format(port=port)).start()
        self.addCleanup(service.cleanup)
        ids = send(service, 1000)
        queued = wait_until(lambda: admin_json(service, "GET", "/admin/destinations")[1]["destinations"][0]["queued"]
                            == 1000, timeout=10)
        self.assertTrue(queued)
        self.assertEqual(service.stop(), 0)
        receiver = Receiver(port=port)
        self.addCleanup(receiver.close)
        service.start()
        got = receiver.wait_for(1000, timeout=60)
        self.assertEqual(sorted(json.loads(r["body"])["id"] for r in got), sorted(ids))
        time.sleep(0.5)
        self.assertEqual(len(receiver.requests), 1000, "a delivery was repeated")
        drained = wait_until(lambda: admin_json(service, "GET", "/admin/destinations")[1]["destinations"][0]["queued"]
                             == 0, timeout=10)
        self.assertTrue(drained)


if __name__ == "__main__":
    unittest.main()
