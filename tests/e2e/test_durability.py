"""Durability and limits on the real binary: SIGKILL at random moments while
clients post concurrently (both sync modes), a full disk, the connection
cap and slow clients."""

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

from harness import Receiver, Service

CONFIG = """
server: {{listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0}}
storage: {{sync: {sync}}}
api_destinations:
  - {{name: rx, endpoint: "http://127.0.0.1:{port}/in", rate_limit_per_second: 10000}}
rules:
  - {{name: all, event_pattern: {{source: [{{prefix: ""}}]}}, targets: [{{id: t, destination: rx}}]}}
"""


def post(address, body, timeout=5):
    req = urllib.request.Request("http://%s/buses/default/events" % address, data=body.encode(), method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, json.loads(r.read())


class CrashTest(unittest.TestCase):
    """Every event that got a 200 survives kill -9 and is delivered."""

    def run_crash_loop(self, sync):
        receiver = Receiver()
        service = Service(CONFIG.format(port=receiver.port, sync=str(sync).lower())).start()
        acknowledged, lock, stop = set(), threading.Lock(), threading.Event()
        address = [service.ingest]

        def client(n):
            i = 0
            while not stop.is_set():
                i += 1
                batch = [{"source": "crash", "detail-type": "t", "detail": {"c": n, "i": i, "k": k}} for k in range(3)]
                try:
                    status, out = post(address[0], json.dumps(batch), timeout=2)
                except (urllib.error.URLError, ConnectionError, OSError):
                    time.sleep(0.01)  # the service is down: nothing was acknowledged
                    continue
                if status == 200:
                    with lock:
                        acknowledged.update(e["EventId"] for e in out["Entries"])

        threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(4)]
        for t in threads:
            t.start()
        try:
            rng = random.Random(1234 + sync)
            for _ in range(6):
                time.sleep(rng.uniform(0.2, 0.7))
                service.stop(signal.SIGKILL)
                service.start()
                address[0] = service.ingest
            time.sleep(0.3)
            stop.set()
            for t in threads:
                t.join(10)
            service.stop(signal.SIGKILL)
            service.start()
            self.assertGreater(len(acknowledged), 100, "the clients got too few events through to prove anything")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                got = {json.loads(r["body"])["id"] for r in receiver.requests}
                if acknowledged <= got:
                    break
                time.sleep(0.2)
            missing = acknowledged - {json.loads(r["body"])["id"] for r in receiver.requests}
            self.assertEqual(missing, set(), "%d of %d acknowledged events were lost" % (len(missing), len(acknowledged)))
            self.assertEqual(service.stop(), 0)
        finally:
            stop.set()
            service.cleanup()
            receiver.close()

    def test_kill_9_loses_nothing_acknowledged_without_sync(self):
        self.run_crash_loop(sync=False)

    def test_kill_9_loses_nothing_acknowledged_with_sync(self):
        self.run_crash_loop(sync=True)


class LimitsTest(unittest.TestCase):
    def setUp(self):
        self.service = Service("server: {listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0, max_connections: 2, "
                               "read_timeout_seconds: 1}\n").start()
        host, port = self.service.ingest.rsplit(":", 1)
        self.addr = (host, int(port))

    def tearDown(self):
        self.service.cleanup()

    def test_connections_over_the_cap_get_a_503(self):
        held = [socket.create_connection(self.addr) for _ in range(2)]
        time.sleep(0.2)
        with socket.create_connection(self.addr, timeout=5) as third:
            answer = third.recv(4096).decode()
        self.assertTrue(answer.startswith("HTTP/1.1 503"), answer)
        self.assertIn("TooManyConnections", answer)
        for s in held:
            s.close()
        time.sleep(0.3)
        self.assertEqual(self.service.request("GET", "/healthz")[0], 200)

    def test_slow_clients_are_cut_off(self):
        with socket.create_connection(self.addr, timeout=5) as slow:
            slow.sendall(b"POST /buses/default/events HTTP/1.1\r\nHost: x\r\n")
            started = time.monotonic()
            self.assertEqual(slow.recv(4096), b"")  # closed by the server
            self.assertLess(time.monotonic() - started, 4)


class DiskFullTest(unittest.TestCase):
    """With the store's disk full, ingest answers 503, keeps what it stored,
    and resumes by itself once space is free again."""

    def setUp(self):
        self.mount = tempfile.mkdtemp(prefix="switchyard-tinyfs-")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", self.mount], capture_output=True)
        if r.returncode != 0:
            os.rmdir(self.mount)
            self.skipTest("cannot mount a small tmpfs here (needs root): " + r.stderr.decode().strip())

    def tearDown(self):
        subprocess.run(["umount", self.mount], capture_output=True)
        shutil.rmtree(self.mount, ignore_errors=True)

    def test_full_disk_gives_503_and_ingest_resumes(self):
        receiver = Receiver()
        config = CONFIG.format(port=receiver.port, sync="true").replace("storage: {sync: true}",
                                                                         "storage: {sync: true, min_free_mb: 3}")
        service = Service(config, data_dir=os.path.join(self.mount, "data"))
        service.start()
        try:
            status, out = post(service.ingest, json.dumps({"source": "disk", "detail-type": "t", "detail": {}}))
            acknowledged = [out["Entries"][0]["EventId"]]
            ballast = os.path.join(self.mount, "ballast")
            st = os.statvfs(self.mount)
            with open(ballast, "wb") as f:  # leave about 1 MB free
                f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - 1024 * 1024))
            refused = None
            big = {"source": "disk", "detail-type": "t", "detail": {"pad": "x" * 200000}}
            for _ in range(60):
                try:
                    status, out = post(service.ingest, json.dumps(big))
                    acknowledged.append(out["Entries"][0]["EventId"])
                except urllib.error.HTTPError as e:
                    refused = (e.code, json.loads(e.read()))
                    break
            self.assertIsNotNone(refused, "the disk never filled up")
            self.assertEqual(refused[0], 503)
            self.assertEqual(refused[1]["code"], "ServiceUnavailable")
            self.assertIn("storage is full", refused[1]["message"])
            self.assertEqual(service.request("GET", "/healthz")[0], 200)
            os.remove(ballast)
            deadline, status = time.monotonic() + 20, None
            while time.monotonic() < deadline:
                try:
                    status, out = post(service.ingest, json.dumps({"source": "disk", "detail-type": "t", "detail": {}}))
                    acknowledged.append(out["Entries"][0]["EventId"])
                    break
                except urllib.error.HTTPError:
                    time.sleep(0.5)
            self.assertEqual(status, 200, "ingest did not resume after space was freed")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not set(acknowledged) <= {json.loads(r["body"])["id"] for r in receiver.requests}:
                time.sleep(0.2)
            self.assertLessEqual(set(acknowledged), {json.loads(r["body"])["id"] for r in receiver.requests})
        finally:
            service.cleanup()
            receiver.close()


if __name__ == "__main__":
    unittest.main()
