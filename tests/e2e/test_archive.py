"""Archives and replays through the real binary: an archive with a pattern
keeps exactly the matching events; a replay of a time window to one rule
sends exactly those events once more, marked with replay-name; a replay can
be cancelled; a replay interrupted by kill -9 resumes after its last stored
step and completes."""

import json
import os
import signal
import subprocess
import time
import unittest

from harness import BIN, Receiver, Service, admin_json, put_events, wait_until

CONFIG = """
server: {{listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0, replay_max_events_per_second: {rate}}}
api_destinations:
  - {{name: rx, endpoint: "http://127.0.0.1:{port}/*", rate_limit_per_second: 10000}}
archives:
  - {{name: shop, event_pattern: {{source: [shop]}}, retention_days: 30}}
  - {{name: everything}}
rules:
  - name: r1
    event_pattern: {{source: [shop]}}
    targets: [{{id: t, destination: rx, http_parameters: {{path_parameter_values: [r1]}}}}]
  - name: r2
    event_pattern: {{source: [shop], replay-name: [{{exists: false}}]}}
    targets: [{{id: t, destination: rx, http_parameters: {{path_parameter_values: [r2]}}}}]
  - name: r3
    event_pattern: {{source: [other]}}
    targets: [{{id: t, destination: rx, http_parameters: {{path_parameter_values: [r3]}}}}]
"""


def entry(source, minute, n):
    return {"Source": source, "DetailType": "t", "Detail": json.dumps({"n": n}),
            "Time": "2026-01-01T00:%02d:00Z" % minute}


class ArchiveReplayTest(unittest.TestCase):
    def start(self, rate=0, data_dir=None):
        self.receiver = getattr(self, "receiver", None) or Receiver()
        self.addCleanup(self.receiver.close)
        self.service = Service(CONFIG.format(port=self.receiver.port, rate=rate), data_dir=data_dir).start()
        self.addCleanup(self.service.cleanup)

    def replay(self, name, start, end, rules=None):
        body = {"name": name, "archive": "shop", "start_time": start, "end_time": end}
        if rules is not None:
            body["rules"] = rules
        return admin_json(self.service, "POST", "/admin/replays", json.dumps(body).encode())

    def cli(self, *args):
        env = dict(os.environ, SWITCHYARD_ADMIN_URL="http://" + self.service.admin)
        p = subprocess.run([BIN, "admin", *args], env=env, capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout, p.stderr

    def test_replay_a_window_to_one_rule(self):
        self.start()
        shop = put_events(self.service, [entry("shop", m, m) for m in range(5)])  # minutes 0..4
        put_events(self.service, [entry("other", 1, 100), entry("other", 2, 101)])
        ids = [e["EventId"] for e in shop["Entries"]]
        self.assertEqual(len(self.receiver.wait_for(12)), 12)  # 5 x r1, 5 x r2, 2 x r3

        archives = {a["name"]: a for a in admin_json(self.service, "GET", "/admin/archives")[1]["archives"]}
        self.assertEqual((archives["shop"]["event_count"], archives["everything"]["event_count"]), (5, 7))
        self.assertGreater(archives["shop"]["size_bytes"], 5 * 100)
        code, out, err = self.cli("archives")
        self.assertEqual(code, 0, err)
        self.assertEqual(out.splitlines()[1].split()[:5], ["everything", "default", "7"] + out.splitlines()[1].split()[3:4] + ["forever"])

        # [00:01, 00:04): minutes 1, 2 and 3, to r1 only, with the CLI waiting on a progress bar.
        code, out, err = self.cli("replay", "start", "fix-1", "--archive", "shop", "--from", "2026-01-01T00:01:00Z",
                                  "--to", "2026-01-01T00:04:00Z", "--rules", "r1", "--wait")
        self.assertEqual(code, 0, out + err)
        self.assertIn("[##############################] 100%  3/3 events, last 2026-01-01T00:03:00Z  COMPLETED",
                      out)
        got = self.receiver.wait_for(15)
        time.sleep(0.5)
        replayed = [r for r in self.receiver.requests[12:]]
        self.assertEqual(len(replayed), 3, [r["body"] for r in replayed])
        self.assertEqual({r["path"] for r in replayed}, {"/r1"})
        bodies = [json.loads(r["body"]) for r in replayed]
        self.assertEqual(sorted(b["id"] for b in bodies), sorted(ids[1:4]))
        self.assertTrue(all(b["replay-name"] == "fix-1" for b in bodies))
        self.assertEqual(list(bodies[0].keys()),
                         ["version", "id", "detail-type", "source", "account", "time", "region", "replay-name",
                          "resources", "detail"])
        self.assertEqual(sorted(b["time"] for b in bodies),
                         ["2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z", "2026-01-01T00:03:00Z"])
        originals = {r["headers"]["webhook-id"] for r in got[:12]}
        self.assertFalse(originals & {r["headers"]["webhook-id"] for r in replayed}, "a replay is a new delivery")

        status, r = admin_json(self.service, "GET", "/admin/replays/fix-1")
        self.assertEqual((r["state"], r["events_replayed"], r["events_total"], r["last_replayed_time"]),
                         ("COMPLETED", 3, 3, "2026-01-01T00:03:00Z"))
        # EventBridge's refusals
        self.assertEqual(self.replay("fix-1", "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z")[1]["code"],
                         "ResourceAlreadyExistsException")
        status, err = self.replay("x", "2026-01-01T00:01:00Z", "2026-01-01T00:01:00Z")
        self.assertEqual((status, err["message"]),
                         (400, "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime."))
        status, err = self.replay("y", "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z", ["nope"])
        self.assertEqual((status, err["code"]), (400, "ValidationException"))
        status, err = admin_json(self.service, "POST", "/admin/replays/fix-1/cancel")
        self.assertEqual((status, err["code"]), (400, "IllegalStatusException"))
        status, err = admin_json(self.service, "POST", "/admin/replays", json.dumps(
            {"name": "z", "archive": "nope", "start_time": "2026-01-01T00:00:00Z",
             "end_time": "2026-01-01T00:01:00Z"}).encode())
        self.assertEqual(err["message"], "Parameter EventSourceArn is not valid. Reason: Archive nope does not exist.")

    def test_cancel_and_restart_in_the_middle_of_a_replay(self):
        data_dir = os.path.join(self.id().replace(".", "_") + "-data")
        import tempfile
        data_dir = tempfile.mkdtemp(prefix="switchyard-archive-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", data_dir]))
        self.start(rate=200, data_dir=data_dir)  # replays read 200 events/s
        for start in range(0, 600, 10):
            put_events(self.service, [entry("shop", 0, n) for n in range(start, start + 10)])
        self.assertEqual(len(self.receiver.wait_for(1200, timeout=60)), 1200)

        # cancel
        self.assertEqual(self.replay("c", "2026-01-01T00:00:00Z", "2026-01-01T00:10:00Z", ["r1"])[0], 201)
        self.assertTrue(wait_until(lambda: admin_json(self.service, "GET", "/admin/replays/c")[1]["events_replayed"] > 0))
        code, out, err = self.cli("replay", "cancel", "c")
        self.assertEqual(code, 0, err)
        final = wait_until(lambda: (lambda r: r if r["state"] == "CANCELLED" else None)(
            admin_json(self.service, "GET", "/admin/replays/c")[1]), timeout=10)
        self.assertTrue(final)
        self.assertLess(final["events_replayed"], 600)

        # restart in the middle
        self.assertEqual(self.replay("r", "2026-01-01T00:00:00Z", "2026-01-01T00:10:00Z", ["r1"])[0], 201)
        self.assertTrue(wait_until(lambda: admin_json(self.service, "GET", "/admin/replays/r")[1]["events_replayed"] >= 100))
        self.assertEqual(self.service.stop(sig=signal.SIGKILL), -signal.SIGKILL)
        self.service.start()
        code, out, err = self.cli("replay", "status", "r", "--wait")
        self.assertEqual(code, 0, out + err)
        status, r = admin_json(self.service, "GET", "/admin/replays/r")
        self.assertEqual((r["state"], r["events_replayed"], r["events_total"]), ("COMPLETED", 600, 600))
        self.assertTrue(any('"replay resumes"' in line for line in self.service.log))
        replayed = lambda: [json.loads(q["body"]) for q in self.receiver.requests if "replay-name" in q["body"]]
        self.assertTrue(wait_until(lambda: len({b["id"] for b in replayed() if b["replay-name"] == "r"}) == 600))
        self.assertEqual({b["replay-name"] for b in replayed()}, {"c", "r"})
        # Resumed after its last stored step, not from the start: the only
        # repeats are deliveries that were in flight at the kill (at most 32).
        self.assertLessEqual(len([b for b in replayed() if b["replay-name"] == "r"]), 600 + 32)
        code, out, err = self.cli("replays")
        self.assertEqual([line.split()[2] for line in out.splitlines()[1:]], ["CANCELLED", "COMPLETED"])


if __name__ == "__main__":
    unittest.main()
