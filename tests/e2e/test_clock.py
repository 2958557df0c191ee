"""A wall clock stepped back (NTP, a VM restored from a snapshot) does not
stall delivery: the rate quota, circuit probes and token retries are timed on
the monotonic clock. The real binary runs under libfaketime, whose offset the
test changes while the service runs; it exercises the quota."""

import json
import os
import tempfile
import time
import unittest

from harness import Receiver, Service, put_events

LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
RATE = 5

CONFIG = """
server: {{listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0}}
api_destinations:
  - {{name: rx, endpoint: "http://127.0.0.1:{port}/in", rate_limit_per_second: {rate}}}
rules:
  - name: r
    event_pattern: {{source: [shop]}}
    targets: [{{id: rx, destination: rx}}]
"""


def entries(start, count):
    return [{"Source": "shop", "DetailType": "t", "Detail": json.dumps({"n": n})} for n in range(start, start + count)]


@unittest.skipUnless(os.path.exists(LIBFAKETIME), "needs Debian's faketime package (deploy/install-deps.sh)")
class ClockStepTest(unittest.TestCase):
    def test_a_clock_stepped_back_an_hour_does_not_stall_the_quota(self):
        offset = tempfile.NamedTemporaryFile("w", suffix=".faketime", delete=False)
        self.addCleanup(os.unlink, offset.name)
        offset.write("+0s\n")
        offset.close()
        receiver = Receiver()
        self.addCleanup(receiver.close)
        service = Service(CONFIG.format(port=receiver.port, rate=RATE), env={
            "LD_PRELOAD": LIBFAKETIME,
            "FAKETIME_TIMESTAMP_FILE": offset.name,
            "FAKETIME_NO_CACHE": "1",              # the file is read at every clock call
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",   # only the wall clock moves
        }).start()
        self.addCleanup(service.cleanup)

        put_events(service, entries(0, RATE))  # a full second's quota
        self.assertEqual(len(receiver.wait_for(RATE, timeout=10)), RATE)
        with open(offset.name, "w") as f:
            f.write("-3600s\n")
        time.sleep(1.1)  # the quota's second has passed on the monotonic clock too
        out = put_events(service, entries(RATE, RATE))
        self.assertEqual(out["FailedEntryCount"], 0)
        # The events were stored an hour "earlier" than the last deliveries;
        # they still go out within the quota's next second or so, not an hour later.
        got = receiver.wait_for(2 * RATE, timeout=10)
        self.assertEqual(len(got), 2 * RATE)
        # ... and the clock did step: the new events' times are the hour earlier.
        before = json.loads(got[0]["body"])["time"]
        after = [json.loads(r["body"])["time"] for r in got[RATE:]]
        self.assertTrue(all(t < before for t in after), (before, after))


if __name__ == "__main__":
    unittest.main()
