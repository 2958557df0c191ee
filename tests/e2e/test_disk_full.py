"""A disk filled by another process (issue 12.6), on a small tmpfs of its own:
every write path stops before the disk is full, delivery pauses with nothing
lost, a restart while the disk is still full opens the store and serves health
and reads, and once space is freed everything acknowledged is delivered."""

import json
import os
import subprocess
import tempfile
import time
import unittest

from harness import Receiver, Service, admin_json, wait_until

CONFIG = """
server: {{listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0}}
storage: {{min_free_mb: 48}}
api_destinations:
  - {{name: rx, endpoint: "http://127.0.0.1:{port}/in", rate_limit_per_second: 1000}}
rules:
  - {{name: all, event_pattern: {{source: [disk]}}, targets: [{{id: t, destination: rx}}]}}
"""


def mount_tmpfs(size_mb):
    path = tempfile.mkdtemp(prefix="switchyard-tmpfs-")
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm" % size_mb, "tmpfs", path],
                       capture_output=True, text=True)
    return path if p.returncode == 0 else None


def free_mb(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize / (1 << 20)


class DiskFullTest(unittest.TestCase):
    def setUp(self):
        self.mount = mount_tmpfs(160)
        if self.mount is None:
            self.skipTest("cannot mount a tmpfs here (needs root)")
        self.addCleanup(lambda: (subprocess.run(["umount", "-l", self.mount]), os.rmdir(self.mount)))

    def fill(self, leave_mb):
        """Writes a file that leaves about `leave_mb` free; returns its path."""
        path = os.path.join(self.mount, "filler")
        with open(path, "ab") as f:
            chunk = b"\0" * (1 << 20)
            while free_mb(self.mount) > leave_mb + 1:
                f.write(chunk)
                f.flush()
        return path

    def test_every_write_stops_before_the_disk_is_full_and_nothing_is_lost(self):
        slow = lambda req, i: (200, {}, "", 1.0)  # attempts are in flight when the disk fills
        receiver = Receiver(responder=slow)
        self.addCleanup(receiver.close)
        service = Service(CONFIG.format(port=receiver.port), data_dir=os.path.join(self.mount, "data")).start()
        self.addCleanup(service.cleanup)
        acknowledged = []
        for i in range(60):
            s, out = service.post("/buses/default/events", {"source": "disk", "detail-type": "t", "detail": {"i": i}})
            self.assertEqual(s, 200, out)
            acknowledged.append(out["Entries"][0]["EventId"])
        filler = self.fill(leave_mb=20)
        time.sleep(1.5)  # the store notices within 500 ms; attempts in flight finish

        # Ingest is refused, nothing crashes, and no new attempt starts.
        s, out = service.post("/buses/default/events", {"source": "disk", "detail-type": "t", "detail": {}})
        self.assertEqual(s, 503, out)
        sent = len(receiver.requests)
        time.sleep(2.5)
        self.assertLessEqual(len(receiver.requests), sent + 2, "delivery pauses while the store cannot write")
        self.assertIsNone(service.proc.poll(), "the service is still running")
        self.assertEqual(service.request("GET", "/healthz")[0], 200)
        s, out = admin_json(service, "POST", "/admin/destinations/rx/pause")
        self.assertNotEqual(s, 200, "a pause cannot be stored either")

        # A restart with the disk still full opens the store and serves reads.
        self.assertEqual(service.stop(), 0)
        service.start()
        self.assertEqual(service.request("GET", "/healthz")[0], 200)
        s, out = admin_json(service, "GET", "/admin/destinations")
        self.assertEqual(s, 200, out)
        s, metrics = service.request("GET", "/metrics", admin=True)
        self.assertRegex(metrics, r"switchyard_storage_min_free_bytes 5\.0331648e\+07|switchyard_storage_min_free_bytes 50331648")

        # Space back: everything acknowledged arrives, at least once.
        os.remove(filler)
        def delivered():
            got = {json.loads(r["body"])["id"] for r in receiver.requests}
            return set(acknowledged) <= got
        self.assertTrue(wait_until(delivered, timeout=60), "every acknowledged event is delivered")
        s, out = service.post("/buses/default/events", {"source": "disk", "detail-type": "t", "detail": {}})
        self.assertEqual(s, 200, out)


if __name__ == "__main__":
    unittest.main()
