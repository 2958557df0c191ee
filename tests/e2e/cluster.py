"""Cluster mode for end-to-end tests: 3 real nats-server processes with
JetStream on loopback (temporary stores, free ports) and Switchyard nodes
configured to use them. Standard library only, like harness.py."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

from harness import Service, free_port, wait_until

NATS_SERVER = shutil.which("nats-server")


class NatsCluster:
    """N nats-servers forming one JetStream cluster on 127.0.0.1."""

    def __init__(self, n=3):
        self.dir = tempfile.mkdtemp(prefix="switchyard-nats-")
        self.client = [free_port() for _ in range(n)]
        self.monitor = [free_port() for _ in range(n)]
        self.route = [free_port() for _ in range(n)]
        self.procs = [None] * n

    def urls(self, only=None):
        ports = self.client if only is None else [self.client[i] for i in only]
        return ["nats://127.0.0.1:%d" % p for p in ports]

    def start_server(self, i):
        routes = ",".join("nats://127.0.0.1:%d" % p for p in self.route)
        self.procs[i] = subprocess.Popen(
            [NATS_SERVER, "-a", "127.0.0.1", "-n", "n%d" % i, "-p", str(self.client[i]), "-m", str(self.monitor[i]),
             "-js", "-sd", os.path.join(self.dir, "n%d" % i), "--cluster_name", "sy",
             "--cluster", "nats://127.0.0.1:%d" % self.route[i], "--routes", routes],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self, timeout=30):
        # Free ports are picked by binding and closing: a test running beside
        # this one can take one first, and that server exits at once. The
        # others would then form a cluster without it, too small for 3
        # replicas; start again on other ports instead.
        for _ in range(3):
            for i in range(len(self.procs)):
                self.start_server(i)
            alive = lambda: all(p.poll() is None for p in self.procs)
            wait_until(lambda: not alive() or self.ready(), timeout)
            if alive() and self.ready():
                return self
            for p in self.procs:
                if p.poll() is None:
                    p.kill()
                    p.wait(10)
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = tempfile.mkdtemp(prefix="switchyard-nats-")
            n = len(self.procs)
            self.client = [free_port() for _ in range(n)]
            self.monitor = [free_port() for _ in range(n)]
            self.route = [free_port() for _ in range(n)]
        raise AssertionError("the NATS cluster did not form")

    def monitor_json(self, i, path):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.monitor[i], path), timeout=2) as r:
            return json.loads(r.read())

    def ready(self):
        try:
            for i, p in enumerate(self.procs):
                if p is None or p.poll() is not None:
                    continue
                if not self.monitor_json(i, "/jsz").get("meta_cluster", {}).get("leader"):
                    return False
            return True
        except OSError:
            return False

    def kill(self, i, sig=signal.SIGKILL):
        p = self.procs[i]
        if p and p.poll() is None:
            p.send_signal(sig)
            if sig in (signal.SIGKILL, signal.SIGTERM):
                p.wait(10)

    def stop(self):
        for p in self.procs:
            if p and p.poll() is None:
                p.send_signal(signal.SIGCONT)
                p.kill()
                p.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def cluster_section(nats, node_id, partitions=8, urls=None):
    servers = ", ".join(urls or nats.urls())
    return ("cluster:\n  node_id: %s\n  nats: {servers: [%s]}\n  partitions: %d\n"
            % (node_id, servers, partitions))


class ClusterNode(Service):
    """A Switchyard node of the cluster: `config_text` without the cluster
    section, which is added here."""

    def __init__(self, config_text, nats, node_id, partitions=8, urls=None):
        super().__init__(config_text + "\n" + cluster_section(nats, node_id, partitions, urls))
        self.node_id = node_id

    def start(self, timeout=60):
        return super().start(timeout)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def owned(self):
        """Partitions this node owns, read from its metrics."""
        try:
            status, text = self.request("GET", "/metrics", admin=True)
        except OSError:
            return None
        for line in text.splitlines():
            if line.startswith("switchyard_cluster_partitions_owned"):
                return int(float(line.split()[-1]))
        return None


def sliding_max(times, window=0.98):
    """The largest number of `times` (seconds, sorted) within any window
    (just under one second, for the receiver's own jitter, as test_quota),
    and when that window starts."""
    best, start, j = 0, None, 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        if i - j + 1 > best:
            best, start = i - j + 1, times[j]
    return best, start


def longest_gap(times):
    return max((b - a for a, b in zip(times, times[1:])), default=0.0)


def now():
    return time.monotonic()
