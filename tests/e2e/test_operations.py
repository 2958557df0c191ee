"""Operating the real binary: reload (admin API and SIGHUP; valid, invalid,
a removed destination with queued deliveries), the admin bearer token, the
`switchyard admin` CLI, request ids, and a graceful SIGTERM under load."""

import json
import os
import signal
import subprocess
import threading
import time
import unittest
import urllib.error
import urllib.request

from harness import BIN, CLUSTER_MODE, Receiver, Service, wait_until

TOKEN = "admin-token-0123456789"

BASE = """
server: {{listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0, admin_token: "{token}", log_level: debug}}
api_destinations:
  - {{name: a, endpoint: "http://127.0.0.1:{port}/a"}}
{extra_destinations}
rules:
  - name: to-a
    event_pattern: {{source: [shop]}}
    targets: [{{id: a, destination: a}}]
{extra_rules}
"""


def config(port, extra_destinations="", extra_rules=""):
    return BASE.format(token=TOKEN, port=port, extra_destinations=extra_destinations, extra_rules=extra_rules)


B_DESTINATION = '  - {{name: b, endpoint: "http://127.0.0.1:{port}/b"}}'
B_RULE = """  - name: to-b
    event_pattern: {source: [shop]}
    targets: [{id: b, destination: b}]"""


class OperationsTest(unittest.TestCase):
    def setUp(self):
        self.receiver = Receiver()
        self.addCleanup(self.receiver.close)
        self.service = Service(config(self.receiver.port)).start()
        self.addCleanup(self.service.cleanup)

    def rewrite(self, text):
        self.service.write_config(text)

    def _admin(self, method, path, token=TOKEN):
        url = "http://%s%s" % (self.service.admin, path)
        req = urllib.request.Request(url, data=b"" if method == "POST" else None, method=method,
                                     headers={"Authorization": "Bearer " + token} if token else {})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def cli(self, *args, token=TOKEN):
        env = dict(os.environ, SWITCHYARD_ADMIN_URL="http://" + self.service.admin)
        if token:
            env["SWITCHYARD_ADMIN_TOKEN"] = token
        p = subprocess.run([BIN, "admin", *args], env=env, capture_output=True, text=True, timeout=30)
        return p.returncode, p.stdout, p.stderr

    def send(self, headers=None):
        status, out = self.service.post("/buses/default/events", {"source": "shop", "detail-type": "t", "detail": {}},
                                        headers)
        self.assertEqual(status, 200, out)
        return out["Entries"][0]["EventId"]

    def test_admin_token_is_required_except_for_healthz(self):
        self.assertEqual(self._admin("GET", "/admin/destinations", token=None)[0], 401)
        self.assertEqual(self._admin("GET", "/admin/destinations", token="wrong-token-0123456789")[0], 401)
        self.assertEqual(urllib_status("http://%s/metrics" % self.service.admin), 401)
        self.assertEqual(urllib_status("http://%s/healthz" % self.service.admin), 200)
        self.assertEqual(self._admin("GET", "/admin/destinations")[0], 200)
        self.assertNotIn(TOKEN, "".join(self.service.log))

    def test_restart_required_compares_with_what_runs(self):
        """Issue 12.22: a restart-only change stays reported on every later
        reload until a restart applies it, and no longer once it is undone.
        Issue 12.23: the refused-reload series exists at 0 before the first."""
        metrics = urllib_text("http://%s/metrics" % self.service.admin, TOKEN)
        self.assertIn('switchyard_config_reloads_total{outcome="refused"} 0', metrics)
        changed = config(self.receiver.port).replace("log_level: debug", "log_level: debug, read_timeout_seconds: 7")
        self.rewrite(changed)
        status, report = self._admin("POST", "/admin/reload")
        self.assertEqual((status, report["restart_required"]), (200, ["server.read_timeout_seconds"]))
        status, report = self._admin("POST", "/admin/reload")  # the same file again: still not applied
        self.assertEqual((status, report["restart_required"]), (200, ["server.read_timeout_seconds"]))
        self.rewrite(config(self.receiver.port))
        status, report = self._admin("POST", "/admin/reload")
        self.assertEqual((status, report["restart_required"]), (200, []))

    def test_valid_reload_adds_a_rule_and_invalid_reload_keeps_the_running_one(self):
        self.rewrite(config(self.receiver.port, B_DESTINATION.format(port=self.receiver.port), B_RULE))
        status, report = self._admin("POST", "/admin/reload")
        self.assertEqual(status, 200, report)
        self.assertEqual((report["reloaded"], report["rules"], report["api_destinations"]), (True, 2, 2))
        self.send()
        got = self.receiver.wait_for(2)
        self.assertEqual(sorted(r["path"] for r in got), ["/a", "/b"])

        self.rewrite(config(self.receiver.port) + "rules: {broken\n")
        status, report = self._admin("POST", "/admin/reload")
        self.assertEqual(status, 400)
        self.assertEqual(report["code"], "InvalidConfiguration")
        self.assertTrue(report["problems"][0].startswith(self.service.config_path + ":"), report)
        self.send()  # the running configuration (two rules) still routes
        self.assertEqual(len(self.receiver.wait_for(4)), 4)

        # SIGHUP takes the same path.
        self.rewrite(config(self.receiver.port))
        def reloads():
            return sum('"configuration reloaded"' in line for line in list(self.service.log))
        before = reloads()
        self.service.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: reloads() > before))
        rules = self._admin("GET", "/admin/rules")[1]["rules"]
        self.assertEqual([r["name"] for r in rules], ["to-a"])
        metrics = urllib_text("http://%s/metrics" % self.service.admin, TOKEN)
        self.assertIn('switchyard_config_reloads_total{outcome="applied"} 2', metrics)
        self.assertIn('switchyard_config_reloads_total{outcome="refused"} 1', metrics)
        # the rest of the catalogue: storage and HTTP server
        self.assertRegex(metrics, r'switchyard_storage_batches_committed_total [1-9]')
        self.assertRegex(metrics, r'switchyard_storage_commit_seconds_count [1-9]')
        if not CLUSTER_MODE:  # the local disk's space: the embedded store only (README, cluster mode)
            self.assertRegex(metrics, r'switchyard_storage_free_bytes [1-9]')
        self.assertRegex(metrics, r'switchyard_http_requests_total\{code="200",listener="ingest"\} [1-9]')
        self.assertRegex(metrics, r'switchyard_http_requests_total\{code="400",listener="admin"\} 1')
        self.assertRegex(metrics, r'switchyard_http_request_seconds_count\{listener="ingest"\} [1-9]')
        self.assertRegex(metrics, r'switchyard_http_connections\{listener="admin"\} [1-9]')  # closed ones may lag

    def test_reloads_under_load_drop_no_request(self):
        url = "http://%s/buses/default/events" % self.service.ingest
        statuses, ids, stop = [], [], threading.Event()

        def client():
            while not stop.is_set():
                body = json.dumps({"source": "shop", "detail-type": "t", "detail": {}}).encode()
                try:
                    with urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST"), timeout=5) as r:
                        statuses.append(r.status)
                        ids.append(json.loads(r.read())["Entries"][0]["EventId"])
                except urllib.error.HTTPError as e:
                    statuses.append(e.code)
                except OSError as e:
                    statuses.append(str(e))

        threads = [threading.Thread(target=client) for _ in range(3)]
        for t in threads:
            t.start()
        for n in range(6):  # alternate between one and two rules
            extra = (B_DESTINATION.format(port=self.receiver.port), B_RULE) if n % 2 == 0 else ("", "")
            self.rewrite(config(self.receiver.port, *extra))
            self.assertEqual(self._admin("POST", "/admin/reload")[0], 200)
            time.sleep(0.1)
        stop.set()
        for t in threads:
            t.join(10)
        self.assertGreater(len(statuses), 20)
        self.assertEqual(set(statuses), {200})
        got = wait_until(lambda: {json.loads(r["body"])["id"] for r in self.receiver.requests if r["path"] == "/a"}
                         >= set(ids), timeout=20)
        self.assertTrue(got, "an acknowledged event was not delivered to the rule every configuration has")

    def test_removing_a_destination_keeps_its_queued_deliveries(self):
        self.rewrite(config(self.receiver.port, B_DESTINATION.format(port=self.receiver.port), B_RULE))
        self.assertEqual(self._admin("POST", "/admin/reload")[0], 200)
        self.assertEqual(self._admin("POST", "/admin/destinations/b/pause")[0], 200)
        for _ in range(3):
            self.send()
        self.assertEqual(len(self.receiver.wait_for(3)), 3)  # a's deliveries
        self.rewrite(config(self.receiver.port))
        status, report = self._admin("POST", "/admin/reload")
        self.assertEqual(status, 200, report)
        self.assertEqual(report["removed_targets"], ["default/to-b/b"])
        self.assertEqual(report["kept_deliveries_without_destination"], [{"destination": "b", "queued": 3}])
        code, out, err = self.cli("reload")
        self.assertEqual(code, 0, err)
        self.assertIn("kept 3 deliveries for the unconfigured destination b", out)
        # Back again: the kept deliveries go out.
        self.rewrite(config(self.receiver.port, B_DESTINATION.format(port=self.receiver.port), B_RULE))
        self.assertEqual(self._admin("POST", "/admin/reload")[0], 200)
        self.assertEqual(self._admin("POST", "/admin/destinations/b/resume")[0], 200)
        got = self.receiver.wait_for(6)
        self.assertEqual(sum(1 for r in got if r["path"] == "/b"), 3)

    def test_cli_covers_destinations_pause_dlq_and_redrive(self):
        self.receiver.status = 400
        code, out, err = self.cli("pause", "a")
        self.assertEqual((code, out.strip()), (0, "a: paused"), err)
        self.send()
        self.assertTrue(wait_until(lambda: self._admin("GET", "/admin/destinations")[1]["destinations"][0]["queued"]))
        code, out, err = self.cli("destinations")
        self.assertEqual(code, 0, err)
        lines = out.splitlines()
        self.assertTrue(lines[0].startswith("DESTINATION  STATE"), out)
        self.assertEqual(lines[1].split()[:3], ["a", "paused", "1"])
        self.assertEqual(self.cli("resume", "a")[:2], (0, "a: active\n"))
        self.assertTrue(wait_until(lambda: self._admin("GET", "/admin/dlq/a")[1]["dlq_depth"] == 1))
        code, out, err = self.cli("dlq", "a", "--limit", "5")
        self.assertEqual(code, 0, err)
        self.assertIn("1 dead-lettered deliveries for a", out)
        self.assertIn("ERROR_FROM_TARGET", out)
        code, out, err = self.cli("--json", "dlq", "a")
        self.assertEqual(json.loads(out)["entries"][0]["attributes"]["ERROR_MESSAGE"], "HTTP 400 from target")
        self.receiver.status = 200
        code, out, err = self.cli("redrive", "a")
        self.assertEqual((code, out.strip()), (0, "redriven 1, still dead-lettered 0"))
        self.assertEqual(len(self.receiver.wait_for(2)), 2)
        # purge: two more dead letters, then none
        self.receiver.status = 400
        self.send()
        self.send()
        self.assertTrue(wait_until(lambda: self._admin("GET", "/admin/dlq/a")[1]["dlq_depth"] == 2))
        code, out, err = self.cli("purge-dlq", "a")
        self.assertEqual((code, out.strip()), (0, "purged 2, still dead-lettered 0"), err)
        self.assertEqual(self._admin("GET", "/admin/dlq/a")[1]["entries"], [])
        metrics = lambda: urllib_text("http://%s/metrics" % self.service.admin, TOKEN)
        self.assertTrue(wait_until(lambda: 'switchyard_dlq_depth{destination="a"} 0' in metrics()),
                        [l for l in metrics().splitlines() if "dlq" in l])
        self.assertEqual(self.cli("purge-dlq", "nope")[0], 1)
        code, out, err = self.cli("rules")
        self.assertEqual(out.splitlines()[1].split(), ["default", "to-a", "a", "a"])
        # refusals, usage, an unreachable service
        self.assertEqual(self.cli("pause", "nope")[0], 1)
        self.assertEqual(self.cli("destinations", token=None)[0], 1)
        self.assertEqual(self.cli("frobnicate")[0], 2)
        env = dict(os.environ, SWITCHYARD_ADMIN_URL="http://127.0.0.1:1")
        self.assertEqual(subprocess.run([BIN, "admin", "rules"], env=env, capture_output=True).returncode, 3)

    def test_a_request_id_follows_the_event_to_its_deliveries(self):
        self.receiver.status = 404
        url = "http://%s/buses/default/events" % self.service.ingest
        req = urllib.request.Request(url, data=json.dumps({"source": "shop", "detail-type": "t", "detail": {}}).encode(),
                                     headers={"X-Request-Id": "req-42"}, method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            self.assertEqual(r.headers["x-request-id"], "req-42")
            event_id = json.loads(r.read())["Entries"][0]["EventId"]
        dlq = wait_until(lambda: self._admin("GET", "/admin/dlq/a")[1]["entries"])
        self.assertEqual((dlq[0]["event_id"], dlq[0]["request_id"]), (event_id, "req-42"))
        def logged(msg):  # the log line may follow the DLQ write by a moment
            return [l for l in (json.loads(x) for x in list(self.service.log) if x.startswith("{"))
                    if l["msg"] == msg and l.get("request_id") == "req-42"]
        stored = wait_until(lambda: logged("events stored"))
        failed = wait_until(lambda: logged("delivery failed for good"))
        self.assertEqual(stored[0]["event_ids"], event_id)
        self.assertEqual(failed[0]["event_id"], event_id)
        # a generated one when none (or a strange one) is given
        with urllib.request.urlopen(urllib.request.Request(url, data=b"{}", method="POST",
                                                           headers={"X-Request-Id": "bad id\t"}), timeout=10) as r:
            self.assertRegex(r.headers["x-request-id"], r"^[0-9a-f-]{36}$")


def urllib_status(url, token=None):
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def urllib_text(url, token):
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read().decode()


# The destination's quota is high: one second of load leaves thousands of
# deliveries, which the default 300/s would take longer to drain than the
# test waits.
SHUTDOWN_CONFIG = """
server: {{listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0, shutdown_timeout_seconds: 5}}
api_destinations:
  - {{name: a, endpoint: "http://127.0.0.1:{port}/a", rate_limit_per_second: 5000}}
rules:
  - name: r
    event_pattern: {{source: [load]}}
    targets: [{{id: a, destination: a}}]
"""


class ShutdownTest(unittest.TestCase):
    def test_sigterm_under_load_exits_0_and_loses_nothing_acknowledged(self):
        receiver = Receiver()
        self.addCleanup(receiver.close)
        service = Service(SHUTDOWN_CONFIG.format(port=receiver.port)).start()
        self.addCleanup(service.cleanup)
        acknowledged, lock, stop = set(), threading.Lock(), threading.Event()
        url = "http://%s/buses/default/events" % service.ingest

        def client(n):
            i = 0
            while not stop.is_set():
                i += 1
                body = json.dumps([{"source": "load", "detail-type": "t", "detail": {"c": n, "i": i}}] * 3).encode()
                try:
                    with urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST"), timeout=5) as r:
                        ids = [e["EventId"] for e in json.loads(r.read())["Entries"]]
                    with lock:
                        acknowledged.update(ids)
                except (urllib.error.URLError, ConnectionError, OSError):
                    time.sleep(0.01)

        threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        started = time.monotonic()
        service.proc.send_signal(signal.SIGTERM)
        code = service.proc.wait(15)
        took = time.monotonic() - started
        stop.set()
        for t in threads:
            t.join(10)
        self.assertEqual(code, 0)
        self.assertLess(took, 7, "shutdown took longer than the drain time allows")
        self.assertGreater(len(acknowledged), 50)
        self.assertTrue(any('"stopped"' in line for line in service.log))
        service.start()  # whatever was acknowledged and not yet delivered goes out now
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if acknowledged <= {json.loads(r["body"])["id"] for r in receiver.requests}:
                break
            time.sleep(0.2)
        missing = acknowledged - {json.loads(r["body"])["id"] for r in receiver.requests}
        self.assertEqual(missing, set())


if __name__ == "__main__":
    unittest.main()
