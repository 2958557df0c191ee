"""Shared pieces for end-to-end tests: the real switchyard binary on
loopback ports, a real HTTP receiver, and a temporary data directory."""

import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

BIN = os.environ.get("SWITCHYARD_BIN", os.path.join(os.path.dirname(__file__), "../../build/bus/switchyard"))
# SWITCHYARD_E2E_CLUSTER=1: every Service runs in cluster mode, on 3
# nats-servers of its own (cluster.py), so the same tests check both modes.
CLUSTER_MODE = os.environ.get("SWITCHYARD_E2E_CLUSTER") == "1"
# ... and SWITCHYARD_E2E_CLUSTER_NODES=3 starts two more nodes beside each
# Service (its peers, sharing its nats-servers and configuration): the test
# talks to the first node, and deliveries are made by whichever node owns
# the destination.
CLUSTER_NODES = int(os.environ.get("SWITCHYARD_E2E_CLUSTER_NODES", "1")) if CLUSTER_MODE else 1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """A real HTTP receiver on 127.0.0.1 that records every request."""

    def __init__(self, port=0, status=200, responder=None):
        """`responder(request, index)` may return (status, headers, body,
        delay_seconds) for each request; otherwise every answer is `status`."""
        self.requests = []
        self.status = status
        self.responder = responder
        self.cond = threading.Condition()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self):
                n = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(n)
                request = {
                    "method": self.command, "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body.decode("utf-8"), "at": time.monotonic()}
                with outer.cond:
                    index = len(outer.requests)
                    outer.requests.append(request)
                    outer.cond.notify_all()
                status, headers, payload, delay = outer.status, {}, b"", 0
                if outer.responder:
                    status, headers, payload, delay = outer.responder(request, index)
                if delay:
                    time.sleep(delay)
                payload = payload.encode() if isinstance(payload, str) else payload
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the sender gave up (timeout) and closed the connection

            do_POST = do_PUT = do_GET = _handle

            def log_message(self, *args):
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        # Python's default listen backlog of 5 drops SYNs when a sender opens
        # many connections at once; the retransmit a second later would skew
        # arrival times.
        http.server.ThreadingHTTPServer.request_queue_size = 256
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.handle_error = lambda request, address: None  # a killed sender resets its connections
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, n, timeout=20):
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.requests) < n and time.monotonic() < deadline:
                self.cond.wait(deadline - time.monotonic())
            return list(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Service:
    """The real binary, started on free loopback ports with a config."""

    def __init__(self, config_text, data_dir=None, env=None, preexec_fn=None):
        """`env`: extra environment variables for the process; `preexec_fn`:
        run in the child before exec (resource limits)."""
        self.env = dict(os.environ, **(env or {}))
        self.preexec_fn = preexec_fn
        self.nats = None
        self.peers = []  # cluster mode's other nodes: they run from this node's first start to cleanup()
        self.cluster_section = ""  # added to every text this service's config file gets
        if CLUSTER_MODE and "\ncluster:" not in "\n" + config_text:
            import cluster  # pylint: disable=import-outside-toplevel (cluster.py imports this module)
            self.nats = cluster.NatsCluster(3).start()
            self.cluster_section = "\n" + cluster.cluster_section(self.nats, "e2e")
            self.peers = [Service(config_text + "\n" + cluster.cluster_section(self.nats, "e2e-%d" % i), env=env)
                          for i in range(1, CLUSTER_NODES)]
            config_text = config_text + self.cluster_section
        self.dir = tempfile.mkdtemp(prefix="switchyard-e2e-")
        self.data_dir = data_dir or os.path.join(self.dir, "data")
        self.config_path = os.path.join(self.dir, "switchyard.yaml")
        with open(self.config_path, "w") as f:
            f.write(config_text)
        self.proc = None
        self.log = []

    def write_config(self, text):
        """Replaces the config file (a reload reads it), keeping cluster mode's section."""
        with open(self.config_path, "w") as f:
            f.write(text + self.cluster_section)

    def start(self, timeout=15):
        self.proc = subprocess.Popen(
            [BIN, "serve", "--config", self.config_path, "--data-dir", self.data_dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=self.env, preexec_fn=self.preexec_fn)
        ready = threading.Event()

        def pump():
            for line in self.proc.stderr:
                self.log.append(line)
                if '"switchyard is serving"' in line:
                    entry = json.loads(line)
                    self.ingest, self.admin = entry["ingest"], entry["admin"]
                    ready.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not ready.wait(0.2) and time.monotonic() < deadline and self.proc.poll() is None:
            pass  # a process that exited is reported at once, not after the timeout
        if not ready.wait(0.5):
            self.stop()
            raise AssertionError("switchyard did not start:\n" + "".join(self.log))
        for peer in self.peers:  # after this node: the first node stores the cluster's configuration
            if not peer.proc:
                peer.start(timeout=60)
        return self

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def cleanup(self):
        for peer in self.peers:
            peer.cleanup()
        self.stop()
        if self.nats:
            self.nats.stop()
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def request(self, method, path, body=None, headers=None, admin=False):
        url = "http://%s%s" % (self.admin if admin else self.ingest, path)
        data = body.encode() if isinstance(body, str) else body
        req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def post(self, path, payload, headers=None):
        body = payload if isinstance(payload, str) else json.dumps(payload)
        status, text = self.request("POST", path, body, headers)
        return status, (json.loads(text) if text else None)


def admin_json(service, method, path, body=None):
    """An admin API call; answers (status, parsed JSON)."""
    data = body if body is not None else (b"" if method == "POST" else None)
    status, text = service.request(method, path, data, admin=True)
    return status, (json.loads(text) if text else None)


def wait_until(predicate, timeout=20, interval=0.1):
    """Polls `predicate` until it returns something truthy; returns its last value."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


def put_events(service, entries):
    """EventBridge PutEvents on the ingest listener; answers the parsed response."""
    status, text = service.request("POST", "/", json.dumps({"Entries": entries}),
                                   {"X-Amz-Target": "AWSEvents.PutEvents",
                                    "Content-Type": "application/x-amz-json-1.1"})
    assert status == 200, text
    return json.loads(text)
