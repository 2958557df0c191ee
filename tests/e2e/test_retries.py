"""Retries through the real binary against a scripted receiver: 500, 429
and a timeout are retried with backoff under one webhook-id, Retry-After is
honoured, and a Retry-After beyond the maximum event age dead-letters."""

import json
import unittest

from harness import Receiver, Service, admin_json, wait_until

CONFIG = """
server: {{listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0}}
api_destinations:
  - {{name: rx, endpoint: "http://127.0.0.1:{port}/in"}}
rules:
  - name: r
    event_pattern: {{source: [shop]}}
    targets: [{{id: t, destination: rx, retry_policy: {{maximum_retry_attempts: 5, maximum_event_age_seconds: 60}}}}]
"""


class RetryTest(unittest.TestCase):
    def start(self, responder):
        self.receiver = Receiver(responder=responder)
        self.service = Service(CONFIG.format(port=self.receiver.port)).start()
        self.addCleanup(self.receiver.close)
        self.addCleanup(self.service.cleanup)

    def send(self):
        status, out = self.service.post("/buses/default/events", {"source": "shop", "detail-type": "t", "detail": {}})
        self.assertEqual(status, 200, out)
        return out["Entries"][0]["EventId"]

    def test_500_429_and_a_timeout_are_retried_with_the_same_webhook_id(self):
        script = [(500, {}, "", 0), (429, {}, "", 0), (200, {}, "", 6), (200, {}, "", 0)]  # the third exceeds the 5 s timeout
        self.start(lambda req, i: script[min(i, len(script) - 1)])
        event_id = self.send()
        got = self.receiver.wait_for(4, timeout=40)
        self.assertEqual(len(got), 4)
        self.assertEqual(len({r["headers"]["webhook-id"] for r in got}), 1)
        self.assertTrue(all(json.loads(r["body"])["id"] == event_id for r in got))
        self.assertGreaterEqual(got[3]["at"] - got[2]["at"], 4.9, "the timed-out attempt was cut at the 5 s timeout")
        status, dlq = admin_json(self.service, "GET", "/admin/dlq/rx")
        self.assertEqual(dlq["dlq_depth"], 0)
        delivered = wait_until(lambda: admin_json(self.service, "GET", "/admin/destinations")[1]["destinations"][0]
                               ["delivered"] == 1, timeout=5)
        self.assertTrue(delivered)
        metrics = self.service.request("GET", "/metrics", admin=True)[1]
        self.assertIn('switchyard_delivery_retries_total{destination="rx"} 3', metrics)

    def test_retry_after_is_honoured(self):
        self.start(lambda req, i: (429, {"Retry-After": "2"}, "", 0) if i == 0 else (200, {}, "", 0))
        self.send()
        got = self.receiver.wait_for(2, timeout=15)
        self.assertEqual(len(got), 2)
        self.assertGreaterEqual(got[1]["at"] - got[0]["at"], 1.9)

    def test_retry_after_beyond_the_maximum_event_age_dead_letters(self):
        self.start(lambda req, i: (503, {"Retry-After": "120"}, "", 0))
        self.send()
        dlq = wait_until(lambda: admin_json(self.service, "GET", "/admin/dlq/rx")[1]["entries"], timeout=10)
        self.assertEqual(len(dlq), 1)
        self.assertEqual(dlq[0]["attributes"]["EXHAUSTED_RETRY_CONDITION"], "MaximumEventAgeInSeconds")
        self.assertEqual(dlq[0]["attributes"]["ERROR_CODE"], "ERROR_FROM_TARGET")
        self.assertEqual(len(self.receiver.requests), 1)


if __name__ == "__main__":
    unittest.main()
