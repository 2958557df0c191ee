"""Ingest through the real binary: PutEvents with the unmodified AWS CLI v2
and boto3 (Debian's packages), SigV4 keys, verified webhooks, bearer tokens."""

import hashlib
import hmac
import json
import os
import subprocess
import time
import unittest

from harness import Receiver, Service, wait_until

AWS = "/usr/bin/aws"            # Debian's awscli (v2)
SYSTEM_PYTHON = "/usr/bin/python3"  # has Debian's python3-boto3

CONFIG = """
server: {{listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0}}
buses:
  - name: default
  - name: orders
    account: "111122223333"
    region: eu-west-1
  - name: secure
    access_keys: [{{access_key_id: AKIDSECURE, secret_access_key: "${{env:SY_TEST_SECRET}}"}}]
  - name: private
    ingest_tokens: ["${{env:SY_TEST_TOKEN}}"]
  - name: ce
  - name: audit
api_destinations:
  - {{name: rx, endpoint: "http://127.0.0.1:{port}/in"}}
  - {{name: ce-binary, endpoint: "http://127.0.0.1:{port}/ce-binary", payload_format: cloudevents-binary}}
  - {{name: ce-structured, endpoint: "http://127.0.0.1:{port}/ce-structured", payload_format: cloudevents-structured}}
rules:
  - {{name: all-orders, bus: orders, event_pattern: {{source: [{{prefix: ""}}]}}, targets: [{{id: t, destination: rx}}]}}
  - {{name: all-secure, bus: secure, event_pattern: {{source: [{{prefix: ""}}]}}, targets: [{{id: t, destination: rx}}]}}
  - {{name: all-default, bus: default, event_pattern: {{source: [{{prefix: ""}}]}}, targets: [{{id: t, destination: rx}}]}}
  - name: to-audit
    bus: ce
    event_pattern: {{detail-type: [com.example.order.placed]}}
    targets: [{{id: fwd, bus: audit}}]
  - {{name: audit-in, bus: audit, event_pattern: {{source: [{{prefix: ""}}]}}, targets: [{{id: t, destination: rx}}, {{id: back, bus: ce}}]}}
  - name: cloudevents
    bus: ce
    event_pattern: {{detail-type: [com.example.order.placed]}}
    targets:
      - {{id: b, destination: ce-binary}}
      - {{id: s, destination: ce-structured, input_path: $.detail}}
webhooks:
  - name: github
    source: github.com
    detail_type_header: X-GitHub-Event
    verify: {{scheme: github-sha256, secret: "${{env:SY_TEST_GH}}"}}
  - name: private-hook
    bus: private
    source: internal
    detail_type: ping
"""

SECRET, TOKEN, GH = "s3cret-key", "t0ken", "gh-secret"


def aws(service, *args, key="AKIDEXAMPLE", secret="anything"):
    args = list(args)
    if "--entries" in args:  # large entry lists go through a file, as users do
        i = args.index("--entries") + 1
        path = os.path.join(service.dir, "entries-%d.json" % time.monotonic_ns())
        with open(path, "w") as f:
            f.write(args[i])
        args[i] = "file://" + path
    env = dict(os.environ, AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret, AWS_DEFAULT_REGION="eu-west-1",
               AWS_PAGER="", AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    return subprocess.run([AWS, "events", *args, "--endpoint-url", "http://" + service.ingest, "--output", "json"],
                          capture_output=True, text=True, env=env, timeout=60)


class IngestTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.environ.update(SY_TEST_SECRET=SECRET, SY_TEST_TOKEN=TOKEN, SY_TEST_GH=GH)
        cls.receiver = Receiver()
        cls.service = Service(CONFIG.format(port=cls.receiver.port)).start()

    @classmethod
    def tearDownClass(cls):
        cls.service.cleanup()
        cls.receiver.close()

    def delivered(self, event_id, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for r in self.receiver.requests:
                if json.loads(r["body"]).get("id") == event_id:
                    return r
            time.sleep(0.05)
        return None

    def test_aws_cli_v2_put_events(self):
        entries = [{"Source": "com.example.shop", "DetailType": "OrderPlaced", "Detail": json.dumps({"id": 1}),
                    "EventBusName": "arn:aws:events:eu-west-1:111122223333:event-bus/orders",
                    "Resources": ["urn:order:1"], "TraceHeader": "Root=1-5759e988-bd862e3fe1be46a994272793"},
                   {"Source": "com.example.shop", "DetailType": "", "Detail": "{}", "EventBusName": "orders"},
                   {"Source": "com.example.shop", "DetailType": "x", "Detail": "[]", "EventBusName": "orders"}]
        p = aws(self.service, "put-events", "--entries", json.dumps(entries))
        self.assertEqual(p.returncode, 0, p.stderr)
        out = json.loads(p.stdout)
        self.assertEqual(out["FailedEntryCount"], 2)
        self.assertEqual(out["Entries"][1], {"ErrorCode": "InvalidArgument", "ErrorMessage":
                         "Parameter DetailType is not valid. Reason: DetailType is a required argument."})
        self.assertEqual(out["Entries"][2], {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."})
        got = self.delivered(out["Entries"][0]["EventId"])
        self.assertIsNotNone(got)
        body = json.loads(got["body"])
        self.assertEqual((body["account"], body["region"], body["resources"]), ("111122223333", "eu-west-1", ["urn:order:1"]))
        self.assertEqual(got["headers"]["x-amzn-trace-id"], "Root=1-5759e988-bd862e3fe1be46a994272793")

    def test_aws_cli_request_level_errors(self):
        p = aws(self.service, "put-events", "--entries", json.dumps(
            [{"Source": "s", "DetailType": "t", "Detail": "{}"}] * 11))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("ValidationException", p.stderr)
        big = [{"Source": "s", "DetailType": "t", "Detail": json.dumps({"a": "x" * 600000})}] * 2
        p = aws(self.service, "put-events", "--entries", json.dumps(big))
        self.assertIn("Total size of the entries in the request is over the limit.", p.stderr)

    def test_boto3_put_events_with_epoch_time(self):
        script = """
import boto3, datetime, json, sys
c = boto3.client("events", endpoint_url=sys.argv[1], region_name="eu-west-1",
                 aws_access_key_id="AKIDSECURE", aws_secret_access_key=sys.argv[2])
r = c.put_events(Entries=[{"Source": "boto", "DetailType": "T", "Detail": "{\\"n\\": 1.50}",
    "Time": datetime.datetime(2025, 3, 1, 10, 15, 30, 900000, tzinfo=datetime.timezone.utc), "EventBusName": "secure"}])
print(json.dumps(r["Entries"]))
"""
        p = subprocess.run([SYSTEM_PYTHON, "-c", script, "http://" + self.service.ingest, SECRET],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        event_id = json.loads(p.stdout)[0]["EventId"]
        got = self.delivered(event_id)
        self.assertIsNotNone(got)
        self.assertEqual(json.loads(got["body"])["time"], "2025-03-01T10:15:30Z")
        self.assertIn('"detail":{"n": 1.50}', got["body"].replace('{"n":1.50}', '{"n": 1.50}'))

    def test_sigv4_keys_guard_their_bus(self):
        entry = [{"Source": "s", "DetailType": "t", "Detail": "{}", "EventBusName": "secure"}]
        p = aws(self.service, "put-events", "--entries", json.dumps(entry), key="AKIDSECURE", secret=SECRET)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["FailedEntryCount"], 0)
        p = aws(self.service, "put-events", "--entries", json.dumps(entry), key="AKIDSECURE", secret="wrong")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("InvalidSignatureException", p.stderr)
        p = aws(self.service, "put-events", "--entries", json.dumps(entry), key="AKIDOTHER", secret="x")
        self.assertIn("UnrecognizedClientException", p.stderr)
        # Mixed: the open bus takes its entry, the keyed one refuses its own.
        mixed = entry + [{"Source": "s", "DetailType": "t", "Detail": "{}", "EventBusName": "orders"}]
        p = aws(self.service, "put-events", "--entries", json.dumps(mixed), key="AKIDOTHER", secret="x")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = json.loads(p.stdout)
        self.assertEqual(out["Entries"][0]["ErrorCode"], "AccessDeniedException")
        self.assertIn("EventId", out["Entries"][1])

    def test_sigv4_binds_the_body(self):
        """Issue 12.5: a captured signed request resent with another body and the
        original X-Amz-Content-Sha256 is refused; the signed one is accepted."""
        script = r"""
import json, sys
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
url, secret = sys.argv[1], sys.argv[2]
body = json.dumps({"Entries": [{"Source": "s", "DetailType": "signed", "Detail": "{}", "EventBusName": "secure"}]})
import hashlib
req = AWSRequest(method="POST", url=url + "/", data=body, headers={
    "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSEvents.PutEvents",
    "X-Amz-Content-SHA256": hashlib.sha256(body.encode()).hexdigest()})
SigV4Auth(Credentials("AKIDSECURE", secret), "events", "eu-west-1").add_auth(req)
print(json.dumps({"body": body, "headers": dict(req.headers.items())}))
"""
        p = subprocess.run([SYSTEM_PYTHON, "-c", script, "http://" + self.service.ingest, SECRET],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        signed = json.loads(p.stdout)
        self.assertIn("X-Amz-Content-SHA256", signed["headers"])
        s, out = self.service.post("/", signed["body"], signed["headers"])
        self.assertEqual((s, out["FailedEntryCount"]), (200, 0), out)
        forged = signed["body"].replace('"signed"', '"forged"')
        s, out = self.service.post("/", forged, signed["headers"])
        self.assertEqual(s, 403, out)
        self.assertEqual(out["__type"], "InvalidSignatureException")
        # Without the hash header the body is hashed all the same.
        headers = {k: v for k, v in signed["headers"].items() if k != "X-Amz-Content-SHA256"}
        s, out = self.service.post("/", forged, headers)
        self.assertEqual(s, 403, out)
        self.assertEqual(out["__type"], "InvalidSignatureException")

    def test_ingest_tokens_guard_put_events(self):
        """Issue 12.4: PutEvents to a bus with ingest_tokens needs one of its
        tokens, by name or by ARN, as /buses/{bus}/events does."""
        headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSEvents.PutEvents"}
        for bus in ("private", "arn:aws:events:us-east-1:123456789012:event-bus/private"):
            body = json.dumps({"Entries": [{"Source": "s", "DetailType": "t", "Detail": "{}", "EventBusName": bus},
                                           {"Source": "s", "DetailType": "t", "Detail": "{}"}]})
            for auth in (None, "Bearer nope"):
                h = dict(headers, **({"Authorization": auth} if auth else {}))
                s, out = self.service.post("/", body, h)
                self.assertEqual(s, 200, out)
                self.assertEqual(out["FailedEntryCount"], 1, out)
                self.assertEqual(out["Entries"][0]["ErrorCode"], "AccessDeniedException")
                self.assertIn("EventId", out["Entries"][1], "the open bus still takes its entry")
            s, out = self.service.post("/", body, dict(headers, Authorization="Bearer " + TOKEN))
            self.assertEqual((s, out["FailedEntryCount"]), (200, 0), out)
        p = aws(self.service, "put-events", "--entries",
                json.dumps([{"Source": "s", "DetailType": "t", "Detail": "{}", "EventBusName": "private"}]))
        self.assertIn("AccessDeniedException", p.stdout + p.stderr)

    def test_verified_github_webhook(self):
        body = '{"ref": "refs/heads/main"}'
        sig = "sha256=" + hmac.new(GH.encode(), body.encode(), hashlib.sha256).hexdigest()
        s, out = self.service.post("/webhooks/github", body, {"X-GitHub-Event": "push", "X-Hub-Signature-256": sig})
        self.assertEqual(s, 200)
        self.assertIsNotNone(self.delivered(out["Entries"][0]["EventId"]))
        before = self.receiver.requests[:]
        for bad in ({"X-GitHub-Event": "push", "X-Hub-Signature-256": sig[:-1] + "0"}, {"X-GitHub-Event": "push"}):
            s, err = self.service.post("/webhooks/github", body, bad)
            self.assertEqual(s, 401)
            self.assertEqual(err["code"], "Unauthorized")
            self.assertNotIn(GH, json.dumps(err))
        time.sleep(0.3)
        self.assertEqual(len(self.receiver.requests), len(before), "a refused webhook is never stored or delivered")

    def test_a_publish_sent_again_is_delivered_once_even_across_a_restart(self):
        """Publish deduplication: the same Idempotency-Key, entry id or webhook delivery id within the
        window answers DEDUPLICATED with the first event's id, and the receiver gets one delivery."""
        event = {"source": "dedup", "detail-type": "t", "detail": {"n": 1}}
        s, first = self.service.post("/buses/orders/events", event, {"Idempotency-Key": "order-77"})
        self.assertEqual((s, first["Entries"][0]["SuccessCode"]), (200, "PUBLISHED"))
        event_id = first["Entries"][0]["EventId"]
        body = '{"ref": "refs/heads/dedup"}'
        sig = "sha256=" + hmac.new(GH.encode(), body.encode(), hashlib.sha256).hexdigest()
        hook = {"X-GitHub-Event": "push", "X-Hub-Signature-256": sig, "X-GitHub-Delivery": "d-%d" % time.time_ns()}
        s, hook_first = self.service.post("/webhooks/github", body, hook)
        self.assertEqual(s, 200)
        hook_id = hook_first["Entries"][0]["EventId"]
        for restart in (False, True):
            if restart:
                self.service.stop()
                self.service.start()
            s, again = self.service.post("/buses/orders/events", event, {"Idempotency-Key": "order-77"})
            self.assertEqual(s, 200, again)
            self.assertEqual(again["Entries"][0], {"EventId": event_id, "SuccessCode": "DEDUPLICATED"})
            s, hook_again = self.service.post("/webhooks/github", body, hook)
            self.assertEqual(s, 200, hook_again)
            self.assertEqual(hook_again["Entries"][0], {"EventId": hook_id, "SuccessCode": "DEDUPLICATED"})
        self.assertIsNotNone(self.delivered(event_id))
        self.assertIsNotNone(self.delivered(hook_id))
        time.sleep(1)
        ids = [json.loads(r["body"]).get("id") for r in self.receiver.requests]
        self.assertEqual(ids.count(event_id), 1)
        self.assertEqual(ids.count(hook_id), 1)
        s, bad = self.service.post("/buses/orders/events", dict(event, **{"deduplication-id": ""}))
        self.assertEqual((s, bad["Entries"][0]["ErrorCode"]), (200, "InvalidArgument"))

    def test_cloudevents_in_and_out(self):
        """A CloudEvent in binary mode (the HTTP binding's example) becomes an event; destinations deliver it
        as CloudEvents in binary and structured mode; the same source and id again is DEDUPLICATED."""
        headers = {"ce-specversion": "1.0", "ce-type": "com.example.order.placed", "ce-time": "2018-04-05T03:56:24Z",
                   "ce-id": "ce-%d" % time.time_ns(), "ce-source": "/shop/eu", "ce-subject": "order%2042",
                   "Content-Type": "application/json; charset=utf-8"}
        s, out = self.service.post("/buses/ce/events", '{"orderId": 42}', headers)
        self.assertEqual(s, 200, out)
        event_id = out["Entries"][0]["EventId"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len([r for r in self.receiver.requests if r["path"].startswith("/ce-")]) < 2:
            time.sleep(0.05)
        by_path = {r["path"]: r for r in self.receiver.requests if r["path"].startswith("/ce-")}
        binary = by_path["/ce-binary"]
        self.assertEqual((binary["headers"]["ce-specversion"], binary["headers"]["ce-id"]), ("1.0", event_id))
        self.assertEqual((binary["headers"]["ce-source"], binary["headers"]["ce-type"]),
                         ("/shop/eu", "com.example.order.placed"))
        self.assertEqual((binary["headers"]["ce-time"], binary["headers"]["ce-subject"]),
                         ("2018-04-05T03:56:24Z", "order%2042"))
        envelope = json.loads(binary["body"])
        self.assertEqual((envelope["id"], envelope["detail"], envelope["resources"]),
                         (event_id, {"orderId": 42}, ["order 42"]))
        structured = by_path["/ce-structured"]
        self.assertTrue(structured["headers"]["content-type"].startswith("application/cloudevents+json"))
        ce = json.loads(structured["body"])
        self.assertEqual({k: ce[k] for k in ("specversion", "id", "source", "type", "subject", "data")},
                         {"specversion": "1.0", "id": event_id, "source": "/shop/eu",
                          "type": "com.example.order.placed", "subject": "order 42", "data": {"orderId": 42}})
        s, again = self.service.post("/buses/ce/events", '{"orderId": 42}', headers)
        self.assertEqual(again["Entries"][0], {"EventId": event_id, "SuccessCode": "DEDUPLICATED"})
        # The rule to-audit put the event on bus audit too (an event-bus target), whose rule delivered it
        # once; audit's rule back to ce is the loop the guard stops.
        on_audit = lambda: [r for r in self.receiver.requests
                            if r["path"] == "/in" and json.loads(r["body"]).get("id") == event_id]
        self.assertTrue(wait_until(on_audit, 10))
        forwarded = on_audit()[0]
        self.assertEqual(forwarded["headers"]["webhook-id"], "msg_%s_audit_audit-in_t" % event_id)
        time.sleep(0.5)
        self.assertEqual(sum(1 for r in self.receiver.requests if r["path"] == "/in"
                             and json.loads(r["body"]).get("id") == event_id), 1)
        self.assertEqual(len([r for r in self.receiver.requests if r["path"].startswith("/ce-")]), 2)
        status, metrics = self.service.request("GET", "/metrics", admin=True)
        self.assertIn('switchyard_bus_forwarded_events_total{bus="ce",outcome="loop"} 1', metrics)

    def test_bearer_tokens(self):
        event = {"source": "s", "detail-type": "t", "detail": {}}
        s, _ = self.service.post("/buses/private/events", event)
        self.assertEqual(s, 401)
        s, _ = self.service.post("/buses/private/events", event, {"Authorization": "Bearer nope"})
        self.assertEqual(s, 401)
        s, out = self.service.post("/buses/private/events", event, {"Authorization": "Bearer " + TOKEN})
        self.assertEqual((s, out["FailedEntryCount"]), (200, 0))
        s, _ = self.service.post("/webhooks/private-hook", "{}", {"Authorization": "Bearer " + TOKEN})
        self.assertEqual(s, 200)
        s, _ = self.service.post("/webhooks/private-hook", "{}")
        self.assertEqual(s, 401)


if __name__ == "__main__":
    unittest.main()
