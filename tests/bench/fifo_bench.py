"""FIFO subscriber throughput against unordered delivery to the same receiver.

Publishes EVENTS events to a bus whose subscriber is STOPPED, then reloads it
RUNNING and times until the destination has delivered them all; once for an
UNORDERED subscriber and once each for a FIFO one with 1, 100 and 10,000
groups. Usage: python3 fifo_bench.py BIN RECEIVER_URL EVENTS
"""

import http.client
import json
import os
import subprocess
import sys
import tempfile
import time

BIN, RECEIVER, EVENTS = sys.argv[1], sys.argv[2], int(sys.argv[3])

CONFIG = """
server: {{listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0, threads: 2}}
storage: {{path: {data}}}
buses: [{{name: default}}, {{name: b}}]
api_destinations:
  - {{name: rx, endpoint: "{url}", rate_limit_per_second: 1000000, max_concurrency: 64}}
subscribers:
  - name: s
    bus: b
    type: {kind}
    {group_by}
    state: {state}
    target: {{destination: rx}}
"""


def run(kind, groups):
    work = tempfile.mkdtemp(prefix="fifo-bench-")
    path = os.path.join(work, "c.yaml")

    def write(state):
        with open(path, "w") as f:
            f.write(CONFIG.format(data=os.path.join(work, "data"), url=RECEIVER, kind=kind, state=state,
                                  group_by="group_by: $.detail.g" if kind == "FIFO" else ""))

    write("STOPPED")
    proc = subprocess.Popen([BIN, "serve", "--config", path], stderr=subprocess.PIPE, text=True)
    ingest = admin = None
    for line in proc.stderr:
        if '"switchyard is serving"' in line:
            entry = json.loads(line)
            ingest, admin = entry["ingest"], entry["admin"]
            break
    try:
        conn = http.client.HTTPConnection(*ingest.split(":"))
        for i in range(0, EVENTS, 10):
            batch = [{"source": "bench", "detail-type": "t", "detail": {"g": "g%d" % ((i + k) % groups), "n": i + k}}
                     for k in range(10)]
            conn.request("POST", "/buses/b/events", json.dumps(batch))
            r = conn.getresponse()
            r.read()
            assert r.status == 200
        write("RUNNING")
        admin_conn = http.client.HTTPConnection(*admin.split(":"))
        start = time.monotonic()
        admin_conn.request("POST", "/admin/reload", b"")
        admin_conn.getresponse().read()
        while True:
            admin_conn.request("GET", "/admin/destinations")
            stats = json.loads(admin_conn.getresponse().read())
            rx = next(d for d in stats["destinations"] if d["name"] == "rx")
            if rx["delivered"] >= EVENTS:
                break
            if time.monotonic() - start > 300:
                raise SystemExit("%s: not done after 300 s: %s" % (kind, rx))
            time.sleep(0.05)
        return EVENTS / (time.monotonic() - start)
    finally:
        proc.terminate()
        proc.wait()
        subprocess.run(["rm", "-rf", work])


base = run("UNORDERED", 1)
print("unordered: %d deliveries/s" % base)
for groups in (1, 100, 10000):
    rate = run("FIFO", groups)
    print("FIFO, %5d groups: %d deliveries/s = %.1f%% of unordered" % (groups, rate, 100 * rate / base))
