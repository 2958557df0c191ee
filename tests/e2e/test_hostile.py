"""Hostile input against the real binary (issue 12): each critical
reproduction, malformed HTTP framing, and control characters aimed at a
destination's headers. After each, the service still answers /healthz and
takes an ordinary event."""

import json
import os
import resource
import socket
import threading
import time
import unittest
import urllib.request

from harness import Receiver, Service, admin_json, wait_until

CONFIG = """
server: {{listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0}}
connections:
  - name: keyed
    auth: {{type: api_key, header: x-api-key, value: k3y-value}}
api_destinations:
  - {{name: rx, connection: keyed, endpoint: "http://127.0.0.1:{port}/in"}}
rules:
  - name: all
    event_pattern: {{source: [{{prefix: ""}}]}}
    targets:
      - id: t
        destination: rx
        http_parameters: {{header_parameters: {{x-from-event: $.detail.h}}}}
  - name: arrays
    event_pattern: {{detail: {{o: {{a: [v], b: [v], c: [v], z: [v]}}}}}}
    targets: [{{id: t, destination: rx}}]
"""

PUT = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSEvents.PutEvents"}


def raw(address, data, timeout=10):
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as c:
        c.sendall(data)
        out = b""
        try:
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    break
                out += chunk
        except socket.timeout:
            pass
    return out.decode(errors="replace")


class HostileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.receiver = Receiver()
        cls.service = Service(CONFIG.format(port=cls.receiver.port)).start()

    @classmethod
    def tearDownClass(cls):
        cls.service.cleanup()
        cls.receiver.close()

    def assertStillServing(self):
        self.assertEqual(self.service.request("GET", "/healthz")[0], 200)
        s, out = self.service.post("/buses/default/events", {"source": "ok", "detail-type": "t", "detail": {"h": "v"}})
        self.assertEqual((s, out["FailedEntryCount"]), (200, 0), out)

    def test_deep_nesting_is_refused_on_every_route(self):
        n = 60000
        deep = '{"source":"a","detail-type":"b","detail":{"a":' + "[" * n + "]" * n + "}}"
        s, text = self.service.request("POST", "/buses/default/events", deep)
        self.assertEqual(s, 400, text[:200])
        self.assertIn("1100", text.replace(",", ""))
        entries = [{"Source": "a", "DetailType": "b", "Detail": "{}"}] * 10
        body = json.dumps({"Entries": entries})[:-2] + ',{"Source":"a","DetailType":"b","Detail":' + \
            "[" * n + "]" * n + "}]}"
        s, text = self.service.request("POST", "/", body, PUT)
        self.assertEqual(s, 400, text[:200])
        s, text = self.service.request("POST", "/admin/test-event-pattern", deep, admin=True)
        self.assertEqual(s, 400, text[:200])
        self.assertStillServing()

    def test_trace_header_with_a_control_character_is_refused_at_ingest(self):
        for c in list(range(0, 9)) + list(range(10, 32)) + [127]:
            trace = "Root=1" + chr(c) + "Content-Length: 0"
            body = json.dumps({"Entries": [{"Source": "trace-probe", "DetailType": "t", "Detail": "{}",
                                            "TraceHeader": trace}]})
            s, out = self.service.post("/", body, PUT)
            self.assertEqual(s, 200, out)
            self.assertEqual(out["Entries"][0].get("ErrorCode"), "InvalidArgument", (c, out))
        time.sleep(0.3)
        self.assertFalse([r for r in self.receiver.requests if "trace-probe" in r["body"]],
                         "nothing refused was delivered")
        self.assertStillServing()

    def test_event_values_never_reach_a_header_with_cr_lf_or_nul(self):
        smuggle = "x\r\nContent-Length: 0\r\n\r\nDELETE /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
        ids = []
        for value in (smuggle, "a\nb", "a\rb", "a\x00b", "a\x7fb"):
            s, out = self.service.post("/buses/default/events",
                                       {"source": "evil", "detail-type": "t", "detail": {"h": value}})
            self.assertEqual(s, 200)
            ids.append(out["Entries"][0]["EventId"])
        dlq = wait_until(lambda: [e for e in admin_json(self.service, "GET", "/admin/dlq/rx?limit=100")[1]["entries"]
                                  if e["event_id"] in ids] if len(ids) else None, timeout=10)
        wait_until(lambda: len([e for e in admin_json(self.service, "GET", "/admin/dlq/rx?limit=100")[1]["entries"]
                                if e["event_id"] in ids]) == len(ids), timeout=10)
        dlq = [e for e in admin_json(self.service, "GET", "/admin/dlq/rx?limit=100")[1]["entries"] if e["event_id"] in ids]
        self.assertEqual(len(dlq), len(ids), dlq)
        for e in dlq:
            self.assertEqual(e["attributes"]["ERROR_CODE"], "INVALID_PARAMETER", e)
        time.sleep(0.3)
        for r in self.receiver.requests:
            self.assertNotEqual(r["method"], "DELETE")
            self.assertNotIn("smuggled", r["path"])
        self.assertStillServing()

    def test_hostile_array_event_does_not_stop_health_checks(self):
        many = ["v"] * 1000
        detail = {"o": [{"a": many, "b": many, "c": many}, {"z": "v"}]}
        event = json.dumps({"id": "1", "source": "s", "detail-type": "t", "account": "1", "time": "2025-01-01T00:00:00Z",
                            "region": "r", "resources": [], "detail": detail})
        pattern = json.dumps({"detail": {"o": {"a": ["v"], "b": ["v"], "c": ["v"], "z": ["v"]}}})
        results = []

        def flood():
            for _ in range(2):
                results.append(self.service.request(
                    "POST", "/", json.dumps({"EventPattern": pattern, "Event": event}),
                    {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSEvents.TestEventPattern"}))

        threads = [threading.Thread(target=flood) for _ in range(2)]
        for t in threads:
            t.start()
        # While they run, health checks are answered at once.
        for _ in range(5):
            started = time.monotonic()
            self.assertEqual(self.service.request("GET", "/healthz")[0], 200)
            self.assertLess(time.monotonic() - started, 2.0)
        for t in threads:
            t.join(60)
        self.assertEqual(len(results), 4)
        for s, text in results:
            self.assertEqual((s, json.loads(text)), (200, {"Result": False}))
        s, out = self.service.post("/buses/default/events", {"source": "s", "detail-type": "t", "detail": detail})
        self.assertEqual(s, 200)
        self.assertStillServing()

    def test_out_of_range_numbers_get_an_answer(self):
        for number in ("1e400", "-1e400", "1E+9999999999", "9" * 400):
            body = '{"source":"s","detail-type":"t","detail":{"n":' + number + '},"time":' + number + '}'
            s, text = self.service.request("POST", "/buses/default/events", body)
            self.assertIn(s, (200, 400), text)
            json.loads(text)
        self.assertStillServing()

    def test_malformed_framing_gets_400_then_close(self):
        post = b"POST /buses/default/events HTTP/1.1\r\nHost: x\r\n"
        cases = {
            "bad chunk size": post + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
            "huge chunk size": post + b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffffff\r\n",
            "chunked and Content-Length": post + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
            "Content-Length -1": post + b"Content-Length: -1\r\n\r\n",
            "Content-Length abc": post + b"Content-Length: abc\r\n\r\n",
            "two Content-Lengths": post + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            "NUL in a header": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
            "header without colon": b"GET /healthz HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n",
            "HTTP/0.9": b"GET /healthz\r\n\r\n",
            "HTTP/2 preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        }
        for name, data in cases.items():
            answer = raw(self.service.ingest, data)
            status = answer.split("\r\n", 1)[0]
            self.assertRegex(status, r"^HTTP/1\.1 (400|505) ", (name, answer[:300]))
            self.assertIn("Connection: close", answer, name)
            body = json.loads(answer.split("\r\n\r\n", 1)[1])
            self.assertTrue(body["message"], name)
        self.assertStillServing()


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def file_limit(n):
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))


class FileLimitTest(unittest.TestCase):
    """Issue 12.11: out of file descriptors, the accept loop backs off instead
    of spinning, and the default connection cap follows the file limit."""

    def test_accept_backs_off_when_descriptors_run_out(self):
        config = "server: {listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0, max_connections: 10000}\n"
        service = Service(config, preexec_fn=file_limit(256)).start()
        idle = []
        try:
            host, port = service.ingest.rsplit(":", 1)
            for _ in range(400):
                idle.append(socket.create_connection((host, int(port)), timeout=5))
            time.sleep(0.5)
            before = cpu_seconds(service.proc.pid)
            time.sleep(2.0)
            used = cpu_seconds(service.proc.pid) - before
            self.assertLess(used, 0.5, "the service burnt %.2f CPU-seconds in 2 s with idle connections" % used)
            for c in idle:
                c.close()
            idle.clear()
            # Once descriptors are free again, both listeners answer.
            ok = wait_until(lambda: service.request("GET", "/healthz")[0] == 200, timeout=10)
            self.assertTrue(ok)
            s, metrics = service.request("GET", "/metrics", admin=True)
            self.assertEqual(s, 200)
            self.assertRegex(metrics, r"switchyard_http_accept_errors_total [1-9]")
        finally:
            for c in idle:
                c.close()
            service.cleanup()

    def test_default_connection_cap_keeps_the_admin_listener_reachable(self):
        service = Service("server: {listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0}\n",
                          preexec_fn=file_limit(256 + 2 * 64)).start()
        idle = []
        try:
            host, port = service.ingest.rsplit(":", 1)
            for _ in range(300):
                idle.append(socket.create_connection((host, int(port)), timeout=5))
            # Past the derived cap of 64 the ingest listener answers 503 and
            # closes; the admin listener and its metrics stay reachable.
            s, metrics = service.request("GET", "/metrics", admin=True)
            self.assertEqual(s, 200)
            self.assertIn('switchyard_http_connections{listener="ingest"} 64', metrics)
        finally:
            for c in idle:
                c.close()
            service.cleanup()

    def test_default_connection_cap_follows_the_file_limit(self):
        service = Service("server: {listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0}\n",
                          preexec_fn=file_limit(512)).start()
        try:
            line = next(json.loads(l) for l in service.log if '"connection limits"' in l)
            self.assertEqual((line["max_connections"], line["open_file_limit"]), ("128", "512"))
        finally:
            service.cleanup()


if __name__ == "__main__":
    unittest.main()
