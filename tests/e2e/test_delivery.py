"""Delivery through the real binary: dead-letter queue with EventBridge's
attributes, redrive, pause/resume and Standard Webhooks signing."""

import base64
import hashlib
import hmac
import json
import os
import time
import unittest

from harness import Receiver, Service

KEY = b"0123456789abcdef0123456789abcdef"
CONFIG = """
server: {{listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0}}
buses: [{{name: default, account: "111122223333", region: eu-west-1}}]
api_destinations:
  - {{name: rx, endpoint: "http://127.0.0.1:{port}/in", signing_secret: "whsec_{key}"}}
rules:
  - name: orders
    event_pattern: {{source: [shop]}}
    targets: [{{id: t1, destination: rx, retry_policy: {{maximum_retry_attempts: 0}}}}]
"""


class DeliveryTest(unittest.TestCase):
    def setUp(self):
        self.receiver = Receiver(status=404)
        self.service = Service(CONFIG.format(port=self.receiver.port, key=base64.b64encode(KEY).decode())).start()

    def tearDown(self):
        self.service.cleanup()
        self.receiver.close()

    def admin(self, method, path):
        s, text = self.service.request(method, path, b"" if method == "POST" else None, admin=True)
        return s, json.loads(text)

    def wait_dlq(self, n, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s, out = self.admin("GET", "/admin/dlq/rx?limit=10")
            if len(out["entries"]) >= n:
                return out
            time.sleep(0.1)
        return out

    def test_dead_letters_carry_eventbridge_attributes_and_redrive(self):
        s, out = self.service.post("/buses/default/events", {"source": "shop", "detail-type": "t", "detail": {"n": 1}})
        event_id = out["Entries"][0]["EventId"]
        dlq = self.wait_dlq(1)
        self.assertEqual(dlq["dlq_depth"], 1)
        metrics = self.service.request("GET", "/metrics", admin=True)[1]
        self.assertIn('switchyard_dlq_depth{destination="rx"} 1', metrics)
        self.assertIn('switchyard_deliveries_dead_lettered_total{destination="rx"} 1', metrics)
        entry = dlq["entries"][0]
        self.assertEqual(entry["body"]["id"], event_id)
        self.assertEqual(entry["body"]["detail"], {"n": 1})
        self.assertEqual(entry["attributes"], {
            "RULE_ARN": "arn:aws:events:eu-west-1:111122223333:rule/orders",
            "TARGET_ARN": "arn:aws:events:eu-west-1:111122223333:api-destination/rx",
            "ERROR_CODE": "ERROR_FROM_TARGET",
            "ERROR_MESSAGE": "HTTP 404 from target",
            "RETRY_ATTEMPTS": "0"})
        self.assertEqual((entry["attempts"], entry["last_status"]), (1, 404))

        for bad in ("abc", "0", "20000", "5x"):
            s, out = self.admin("GET", "/admin/dlq/rx?limit=" + bad)
            self.assertEqual((s, out["code"]), (400, "ValidationException"), bad)
            self.assertIn("Parameter limit is not valid", out["message"])
        s, out = self.admin("POST", "/admin/dlq/rx/redrive?limit=-1")
        self.assertEqual(s, 400)
        for method, path in (("GET", "/admin/dlq/nope"), ("POST", "/admin/dlq/nope/redrive")):
            s, out = self.admin(method, path)
            self.assertEqual((s, out["code"]), (404, "ResourceNotFoundException"), path)
            self.assertIn("'nope' does not exist", out["message"])
        names = [d["name"] for d in self.admin("GET", "/admin/destinations")[1]["destinations"]]
        self.assertNotIn("nope", names)
        self.assertEqual(self.admin("GET", "/admin/dlq/rx?other=1&limit=1")[1]["dlq_depth"], 1)  # nothing redriven

        self.receiver.status = 200
        s, out = self.admin("POST", "/admin/dlq/rx/redrive")
        self.assertEqual((s, out["redriven"], out["remaining"]), (200, 1, 0))
        got = self.receiver.wait_for(2)
        self.assertEqual(json.loads(got[-1]["body"])["id"], event_id)
        self.assertEqual(got[-1]["headers"]["webhook-id"], got[0]["headers"]["webhook-id"])

        # Standard Webhooks signature over id.timestamp.body
        h = got[-1]["headers"]
        signed = "%s.%s.%s" % (h["webhook-id"], h["webhook-timestamp"], got[-1]["body"])
        expected = base64.b64encode(hmac.new(KEY, signed.encode(), hashlib.sha256).digest()).decode()
        self.assertEqual(h["webhook-signature"], "v1," + expected)

    def test_server_errors_exhaust_the_retry_policy(self):
        self.receiver.status = 500
        self.service.post("/buses/default/events", {"source": "shop", "detail-type": "t", "detail": {}})
        entry = self.wait_dlq(1)["entries"][0]
        self.assertEqual(entry["attributes"]["EXHAUSTED_RETRY_CONDITION"], "MaximumRetryAttempts")
        self.assertEqual(entry["attributes"]["RETRY_ATTEMPTS"], "0")
        self.assertEqual(len(self.receiver.requests), 1)

    def test_pause_keeps_the_queue_and_resume_delivers(self):
        self.receiver.status = 200
        s, out = self.admin("POST", "/admin/destinations/rx/pause")
        self.assertEqual((s, out["state"]), (200, "paused"))
        self.service.post("/buses/default/events", {"source": "shop", "detail-type": "t", "detail": {}})
        time.sleep(0.5)
        self.assertEqual(self.receiver.requests, [])
        s, out = self.admin("GET", "/admin/destinations")
        rx = [d for d in out["destinations"] if d["name"] == "rx"][0]
        self.assertEqual((rx["state"], rx["queued"]), ("paused", 1))
        s, out = self.admin("POST", "/admin/destinations/rx/resume")
        self.assertEqual(out["state"], "active")
        self.assertEqual(len(self.receiver.wait_for(1)), 1)
        s, out = self.admin("POST", "/admin/destinations/nope/pause")
        self.assertEqual(s, 404)


PARAMS_CONFIG = """
server: {{listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0}}
connections:
  - name: crm
    auth: {{type: api_key, header: x-api-key, value: "${{env:SY_TEST_API_KEY}}"}}
    invocation_http_parameters:
      header_parameters: [{{key: X-Source, value: connection, is_value_secret: false}}]
      query_string_parameters: [{{key: tenant, value: acme}}]
      body_parameters: [{{key: origin, value: switchyard}}]
api_destinations:
  - {{name: crm, connection: crm, endpoint: "http://127.0.0.1:{port}/orders/*", method: PUT}}
rules:
  - name: orders
    event_pattern: {{source: [shop]}}
    targets:
      - id: t1
        destination: crm
        input_path: $.detail
        http_parameters:
          path_parameter_values: [$.detail.id]
          header_parameters: {{X-Order: $.detail.id, X-Source: target, User-Agent: evil}}
          query_string_parameters: {{kind: $.detail-type}}
"""


class ParametersTest(unittest.TestCase):
    def test_connection_and_dynamic_target_parameters(self):
        os.environ["SY_TEST_API_KEY"] = "k3y"
        receiver = Receiver()
        service = Service(PARAMS_CONFIG.format(port=receiver.port)).start()
        try:
            service.post("/buses/default/events", {"source": "shop", "detail-type": "OrderPlaced",
                                                   "detail": {"id": "a/42", "n": 1}})
            got = receiver.wait_for(1)
            self.assertEqual(len(got), 1)
            r = got[0]
            self.assertEqual(r["method"], "PUT")
            self.assertEqual(r["path"], "/orders/a%2F42?kind=OrderPlaced&tenant=acme")
            self.assertEqual(r["headers"]["x-api-key"], "k3y")
            self.assertEqual(r["headers"]["x-order"], "a/42")
            self.assertEqual(r["headers"]["x-source"], "connection")
            self.assertEqual(r["headers"]["user-agent"], "Amazon/EventBridge/ApiDestinations")
            self.assertEqual(json.loads(r["body"]), {"id": "a/42", "n": 1, "origin": "switchyard"})
            self.assertNotIn("k3y", "".join(service.log))
        finally:
            service.cleanup()
            receiver.close()


if __name__ == "__main__":
    unittest.main()
