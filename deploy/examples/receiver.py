#!/usr/bin/env python3
"""A tiny HTTP receiver for trying Switchyard out: prints every request it
gets and answers 200 (or STATUS, to see retries and the dead-letter queue).
Usage: python3 deploy/examples/receiver.py [PORT [STATUS]]"""
import http.server
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        print(f"{self.command} {self.path}  webhook-id: {self.headers.get('webhook-id')}")
        print(body.decode("utf-8", "replace"), flush=True)
        self.send_response(STATUS)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_PUT = do_PATCH = do_DELETE = do_GET = do_POST

    def log_message(self, *args):
        pass


port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
STATUS = int(sys.argv[2]) if len(sys.argv) > 2 else 200
print(f"receiver listening on 127.0.0.1:{port}", flush=True)
http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
