"""Target input through the whole service: the receiver gets exactly the
bytes `switchyard transform` prints, with the matching Content-Type."""

import json
import subprocess
import time
import unittest

from harness import BIN, Receiver, Service

TEMPLATE = '{"order": <id>, "tags": <tags>, "msg": "order <id>", "rule": <aws.events.rule-name>}'
CONFIG = """
server: {{listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0}}
api_destinations:
  - {{name: rx, endpoint: "http://127.0.0.1:{port}/in"}}
rules:
  - name: orders
    event_pattern: {{source: [shop]}}
    targets:
      - id: transformed
        destination: rx
        input_transformer:
          input_paths_map: {{id: $.detail.id, tags: $.detail.tags}}
          input_template: '{template}'
      - {{id: text, destination: rx, input_transformer: {{input_paths_map: {{id: $.detail.id}}, input_template: '"order <id> placed"'}}}}
      - {{id: path, destination: rx, input_path: $.detail.tags}}
      - {{id: broken, destination: rx, input_transformer: {{input_paths_map: {{t: $.detail.tags}}, input_template: '{{"t": "<t>"}}'}}}}
      - {{id: broken-inside, destination: rx, input_transformer: {{input_paths_map: {{t: $.detail.tags}}, input_template: '{{"t": "tags <t>"}}'}}}}
"""


class TransformDeliveryTest(unittest.TestCase):
    def test_each_target_receives_its_rendered_input(self):
        receiver = Receiver()
        service = Service(CONFIG.format(port=receiver.port, template=TEMPLATE)).start()
        try:
            s, out = service.post("/buses/default/events",
                                  {"source": "shop", "detail-type": "OrderPlaced", "detail": {"id": 42, "tags": ["a", "b"]}})
            self.assertEqual(s, 200)
            got = receiver.wait_for(3)
            time.sleep(0.5)
            got = receiver.requests
            self.assertEqual(len(got), 3, got)  # the broken targets are dead-lettered, not sent
            bodies = sorted((r["body"], r["headers"]["content-type"]) for r in got)
            self.assertEqual(bodies, sorted([
                ('{"order": 42, "tags": ["a","b"], "msg": "order 42", "rule": "orders"}',
                 "application/json; charset=utf-8"),
                ('"order 42 placed"', "text/plain; charset=utf-8"),
                ('["a","b"]', "application/json; charset=utf-8"),
            ]))
            # The CLI prints the same bytes for the same event.
            event = json.dumps({"version": "0", "id": out["Entries"][0]["EventId"], "detail-type": "OrderPlaced",
                                "source": "shop", "account": "000000000000", "time": "2025-01-01T00:00:00Z",
                                "region": "us-east-1", "resources": [], "detail": {"id": 42, "tags": ["a", "b"]}})
            p = subprocess.run([BIN, "transform", "--event", event, "--rule-name", "orders", "--transformer",
                                json.dumps({"InputTransformer": {"InputPathsMap": {"id": "$.detail.id", "tags": "$.detail.tags"},
                                                                 "InputTemplate": TEMPLATE}})],
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn((p.stdout, "application/json; charset=utf-8"), bodies)
            s, metrics = service.request("GET", "/metrics", admin=True)
            self.assertIn('switchyard_deliveries_dead_lettered_total{destination="rx"} 2', metrics)
        finally:
            service.cleanup()
            receiver.close()


if __name__ == "__main__":
    unittest.main()
