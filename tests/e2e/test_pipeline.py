"""End to end: webhook and JSON ingest -> RocksDB -> rules -> HTTP
destination, through the real binary, with a real receiver."""

import json
import os
import signal
import socket
import subprocess
import time
import unittest

from harness import BIN, Receiver, Service, free_port

CONFIG = """
server:
  listen: 127.0.0.1:0
  admin_listen: 127.0.0.1:0
buses:
  - name: default
  - name: orders
    account: "111122223333"
    region: eu-west-1
api_destinations:
  - name: receiver
    endpoint: http://127.0.0.1:{port}/hooks/*
    rate_limit_per_second: 100
rules:
  - name: shop-orders
    bus: orders
    event_pattern: {{source: [com.example.shop], detail-type: [OrderPlaced, OrderCancelled]}}
    targets:
      - id: t1
        destination: receiver
        http_parameters: {{path_parameter_values: [orders]}}
  - name: pushes
    bus: default
    event_pattern: {{source: [github.com], detail: {{ref: [refs/heads/main]}}}}
    targets:
      - id: t1
        destination: receiver
        http_parameters: {{path_parameter_values: [github]}}
webhooks:
  - name: github
    bus: default
    source: github.com
    detail_type_header: X-GitHub-Event
"""


def order(kind, n):
    return {"source": "com.example.shop", "detail-type": kind, "detail": {"orderId": n}}


class PipelineTest(unittest.TestCase):
    def setUp(self):
        self.receiver = Receiver()
        self.service = Service(CONFIG.format(port=self.receiver.port)).start()

    def tearDown(self):
        self.service.cleanup()
        self.receiver.close()

    def test_exactly_the_matching_events_arrive_with_the_whole_event(self):
        s, single = self.service.post("/buses/orders/events", order("OrderPlaced", 1))
        self.assertEqual(s, 200)
        s, batch = self.service.post("/buses/orders/events",
                                     [order("OrderCancelled", 2), order("Shipped", 3),
                                      {"source": "other", "detail-type": "OrderPlaced", "detail": {}}])
        self.assertEqual(s, 200)
        self.assertEqual(batch["FailedEntryCount"], 0)
        s, hook = self.service.post("/webhooks/github", '{"ref": "refs/heads/main", "size": 1.50}',
                                    {"X-GitHub-Event": "push"})
        self.assertEqual(s, 200)
        s, _ = self.service.post("/webhooks/github", {"ref": "refs/heads/dev"}, {"X-GitHub-Event": "push"})
        self.assertEqual(s, 200)

        expected = {single["Entries"][0]["EventId"], batch["Entries"][0]["EventId"], hook["Entries"][0]["EventId"]}
        got = self.receiver.wait_for(3)
        time.sleep(0.5)  # anything that should not arrive has had time to
        got = self.receiver.requests
        self.assertEqual({json.loads(r["body"])["id"] for r in got}, expected)
        self.assertEqual(len(got), 3)

        by_id = {json.loads(r["body"])["id"]: r for r in got}
        placed = by_id[single["Entries"][0]["EventId"]]
        self.assertEqual(placed["path"], "/hooks/orders")
        self.assertEqual(placed["headers"]["content-type"], "application/json; charset=utf-8")
        self.assertTrue(placed["headers"]["webhook-id"])
        body = json.loads(placed["body"])
        self.assertEqual(list(body), ["version", "id", "detail-type", "source", "account", "time", "region",
                                      "resources", "detail"])
        self.assertEqual(body["detail-type"], "OrderPlaced")
        self.assertEqual(body["account"], "111122223333")
        self.assertEqual(body["region"], "eu-west-1")
        self.assertEqual(body["resources"], [])
        self.assertEqual(body["detail"], {"orderId": 1})
        self.assertRegex(body["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

        push = by_id[hook["Entries"][0]["EventId"]]
        self.assertEqual(push["path"], "/hooks/github")
        self.assertIn('"detail":{"ref":"refs/heads/main","size":1.50}}', push["body"])
        self.assertEqual(json.loads(push["body"])["detail-type"], "push")

        s, metrics = self.service.request("GET", "/metrics", admin=True)
        self.assertEqual(s, 200)
        self.assertIn('switchyard_events_ingested_total{bus="orders"} 4', metrics)
        self.assertIn('switchyard_events_matched_total{bus="orders",rule="shop-orders"} 2', metrics)
        self.assertIn('switchyard_deliveries_delivered_total{destination="receiver"} 3', metrics)
        self.assertIn('switchyard_deliveries_failed_total{destination="receiver"} 0', metrics)

    def test_bad_input_gets_a_clear_error_and_the_service_keeps_running(self):
        cases = [
            ("/buses/orders/events", "{not json", 400, "MalformedJSON"),
            ("/buses/nope/events", json.dumps(order("OrderPlaced", 1)), 404, "ResourceNotFoundException"),
            ("/webhooks/nope", "{}", 404, "ResourceNotFoundException"),
            ("/webhooks/github", "[1, 2]", 400, "MalformedDetail"),
            ("/webhooks/github", '{"a": "' + "x" * 1100000 + '"}', 413, "PayloadTooLarge"),
            ("/buses/orders/events", "[]", 400, "ValidationException"),
            ("/nowhere", "{}", 404, "NotFound"),
        ]
        for path, body, status, code in cases:
            s, text = self.service.request("POST", path, body, {"X-GitHub-Event": "push"})
            self.assertEqual(s, status, (path, text))
            err = json.loads(text)
            self.assertEqual(err["code"], code, (path, err))
            self.assertTrue(err["message"], (path, err))
        # Over the body limit: refused from the declared length, before the body is read.
        host, port = self.service.ingest.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as c:
            c.sendall(b"POST /buses/orders/events HTTP/1.1\r\nHost: x\r\nContent-Length: 8388608\r\n\r\n")
            answer = c.recv(4096).decode()
        self.assertTrue(answer.startswith("HTTP/1.1 413"), answer)
        self.assertIn('"code":"PayloadTooLarge"', answer)
        self.assertEqual(self.service.request("GET", "/healthz")[0], 200)
        self.assertEqual(self.service.request("GET", "/readyz")[0], 200)
        s, out = self.service.post("/buses/orders/events", order("OrderPlaced", 9))
        self.assertEqual(s, 200)
        self.assertEqual(len(self.receiver.wait_for(1)), 1)


class RestartTest(unittest.TestCase):
    def test_acknowledged_events_are_delivered_after_a_restart_with_the_receiver_down(self):
        port = free_port()  # nothing listens there yet
        service = Service(CONFIG.format(port=port)).start()
        receiver = None
        try:
            ids = []
            for n in range(5):
                s, out = service.post("/buses/orders/events", order("OrderPlaced", n))
                self.assertEqual(s, 200)
                ids.append(out["Entries"][0]["EventId"])
            service.stop(signal.SIGKILL)  # no chance to flush anything
            service.start()
            time.sleep(0.5)
            receiver = Receiver(port=port)
            got = receiver.wait_for(5, timeout=40)
            self.assertEqual(sorted(json.loads(r["body"])["id"] for r in got), sorted(ids))
            self.assertEqual(service.stop(), 0)  # SIGTERM: clean exit
        finally:
            service.cleanup()
            if receiver:
                receiver.close()


class CheckConfigTest(unittest.TestCase):
    def test_invalid_config_prints_file_line_column_and_exits_2(self):
        service = Service("rules:\n  - name: r\n    event_pattern: {a: 1}\n")
        try:
            p = subprocess.run([BIN, "check-config", "--config", service.config_path],
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 2)
            self.assertEqual(p.stderr.strip(),
                             service.config_path + ':3:20: invalid event_pattern of rule \'r\': '
                             'Event pattern is not valid. Reason: "a" must be an object or an array (field a)')
            p = subprocess.run([BIN, "serve", "--config", service.config_path], capture_output=True, text=True)
            self.assertEqual(p.returncode, 2)
        finally:
            service.cleanup()

    def test_bundled_example_config_is_valid(self):
        example = os.path.join(os.path.dirname(__file__), "../../deploy/examples/switchyard.yaml")
        p = subprocess.run([BIN, "check-config", "--config", example], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)


if __name__ == "__main__":
    unittest.main()
