"""The pattern commands and the admin TestEventPattern endpoint, through the
real binary, exactly as shared/spec/interface.md defines them."""

import json
import os
import subprocess
import tempfile
import unittest

from harness import BIN, Service

EVENT = {"id": "1", "account": "111122223333", "source": "shop", "time": "2025-03-01T10:15:30Z",
         "region": "eu-west-1", "detail-type": "OrderPlaced", "resources": [], "detail": {"total": 150}}


def run(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True)


class TestPatternCommand(unittest.TestCase):
    def test_match_no_match_and_invalid(self):
        event = json.dumps(EVENT)
        p = run("test-pattern", "--pattern", '{"detail":{"total":[{"numeric":[">",100]}]}}', "--event", event)
        self.assertEqual((p.returncode, p.stdout), (0, "match\n"))
        p = run("test-pattern", "--pattern", '{"detail":{"total":[{"numeric":["<",100]}]}}', "--event", event)
        self.assertEqual((p.returncode, p.stdout), (1, "no match\n"))
        p = run("test-pattern", "--pattern", '{"detail":{"total":[{"numeric":[">","x"]}]}}', "--event", event)
        self.assertEqual(p.returncode, 2)
        self.assertIn("Event pattern is not valid. Reason: Value of > must be numeric", p.stderr)
        p = run("test-pattern", "--pattern", '{"source":["shop"]}', "--event", '{"source":"shop"}')
        self.assertEqual(p.returncode, 2)
        self.assertIn("Parameter Event is not valid.", p.stderr)

    def test_pattern_and_event_from_files(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "p.json"), "w") as f:
                f.write('{"source": [{"prefix": "sh"}]}')
            with open(os.path.join(d, "e.json"), "w") as f:
                json.dump(EVENT, f)
            p = run("test-pattern", "--pattern", "@" + os.path.join(d, "p.json"),
                    "--event", "@" + os.path.join(d, "e.json"))
            self.assertEqual((p.returncode, p.stdout), (0, "match\n"))


class MatchCommand(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.patterns = os.path.join(self.dir.name, "patterns.jsonl")
        self.events = os.path.join(self.dir.name, "events.jsonl")
        with open(self.patterns, "w") as f:
            f.write(json.dumps({"name": "zeta", "pattern": {"source": ["a"]}}) + "\n")
            f.write(json.dumps({"name": "alpha", "pattern": {"source": [{"prefix": ""}]}}) + "\n")
            f.write(json.dumps({"name": "big", "pattern": {"n": [{"numeric": [">", 10]}]}}) + "\n")
        with open(self.events, "w") as f:
            f.write('{"source":"a","n":11}\n{"source":"b"}\n{"n":1}\n')

    def tearDown(self):
        self.dir.cleanup()

    def test_prints_sorted_names_per_line(self):
        p = run("match", "--patterns", self.patterns, "--events", self.events)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "1\talpha,big,zeta\n2\talpha\n3\t\n")

    def test_repeat_and_stats(self):
        p = run("match", "--patterns", self.patterns, "--events", self.events, "--repeat", "4", "--stats")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "1\talpha,big,zeta\n2\talpha\n3\t\n")
        self.assertRegex(p.stderr.strip(), r"^events=12 matches=16 seconds=[0-9.]+ events_per_second=[0-9]+$")

    def test_invalid_pattern_line_exits_2_before_reading_events(self):
        with open(self.patterns, "a") as f:
            f.write(json.dumps({"name": "bad", "pattern": {"a": [{"prefix": 1}]}}) + "\n")
        p = run("match", "--patterns", self.patterns, "--events", "/nonexistent")
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stdout, "")
        self.assertIn(self.patterns + ":4: Event pattern is not valid. Reason: prefix match pattern must be a string",
                      p.stderr)

    def test_invalid_event_line_is_reported_and_the_run_goes_on(self):
        with open(self.events, "a") as f:
            f.write('{"source": "a", oops}\n{"source":"a"}\n')
        p = run("match", "--patterns", self.patterns, "--events", self.events)
        self.assertEqual(p.returncode, 3)
        self.assertIn(self.events + ":4:", p.stderr)
        self.assertTrue(p.stdout.endswith("5\talpha,zeta\n"), p.stdout)


class AdminTestEventPattern(unittest.TestCase):
    def test_admin_endpoint_answers_like_eventbridge(self):
        service = Service("server:\n  listen: 127.0.0.1:0\n  admin_listen: 127.0.0.1:0\n").start()
        try:
            def ask(pattern, event):
                body = json.dumps({"EventPattern": pattern, "Event": event})
                s, text = service.request("POST", "/admin/test-event-pattern", body, admin=True)
                return s, json.loads(text)
            self.assertEqual(ask('{"source":["shop"]}', json.dumps(EVENT)), (200, {"Result": True}))
            self.assertEqual(ask('{"source":["x"]}', json.dumps(EVENT)), (200, {"Result": False}))
            s, err = ask('{"source":"shop"}', json.dumps(EVENT))
            self.assertEqual((s, err["code"]), (400, "InvalidEventPatternException"))
            self.assertIn('"source" must be an object or an array', err["message"])
            s, err = ask('{"source":["shop"]}', '{"source":"shop"}')
            self.assertEqual((s, err["code"]), (400, "ValidationException"))
        finally:
            service.cleanup()


if __name__ == "__main__":
    unittest.main()
