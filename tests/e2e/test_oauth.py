"""OAuth client-credentials connections through the real binary: the token
is fetched from a real authorization server, cached across deliveries,
refreshed after a 401, and a dead authorization endpoint deauthorizes the
connection and dead-letters with NO_PERMISSIONS."""

import base64
import json
import os
import tempfile
import time
import unittest
import urllib.parse

from harness import Receiver, Service, admin_json, free_port, wait_until

SECRET = "cl1ent-s3cret"

CONFIG = """
server: {{listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0}}
connections:
  - name: partner
    auth:
      type: oauth_client_credentials
      authorization_endpoint: http://127.0.0.1:{auth}/oauth/token
      client_id: switchyard
      client_secret: ${{file:{secret_file}}}
      oauth_http_parameters:
        body_parameters: [{{key: audience, value: orders-api}}]
        header_parameters: {{x-tenant: t1}}
api_destinations:
  - {{name: orders, connection: partner, endpoint: "http://127.0.0.1:{rx}/orders"}}
rules:
  - name: r
    event_pattern: {{source: [shop]}}
    targets: [{{id: t, destination: orders, retry_policy: {{maximum_retry_attempts: {attempts}}}}}]
"""


class OAuthTest(unittest.TestCase):
    def setUp(self):
        fd, self.secret_file = tempfile.mkstemp()
        os.write(fd, SECRET.encode())
        os.close(fd)
        self.addCleanup(os.unlink, self.secret_file)
        self.issued = 0
        self.expires_in = 3600

    def token_server(self):
        def answer(req, i):
            self.issued += 1
            return (200, {"Content-Type": "application/json"},
                    json.dumps({"access_token": "tok%d" % self.issued, "token_type": "Bearer", "expires_in": self.expires_in}), 0)
        server = Receiver(responder=answer)
        self.addCleanup(server.close)
        return server

    def service(self, auth_port, rx_port, attempts=3):
        s = Service(CONFIG.format(auth=auth_port, rx=rx_port, secret_file=self.secret_file, attempts=attempts)).start()
        self.addCleanup(s.cleanup)
        return s

    def send(self, service, n):
        status, out = service.post("/buses/default/events", {"source": "shop", "detail-type": "t", "detail": {"n": n}})
        self.assertEqual(status, 200, out)

    def test_token_is_fetched_cached_and_refreshed_after_a_401(self):
        auth = self.token_server()
        refused = set()
        rx = Receiver(responder=lambda req, i: (
            401 if req["headers"].get("authorization") in refused else 200, {}, "", 0))
        self.addCleanup(rx.close)
        service = self.service(auth.port, rx.port)
        for n in range(3):
            self.send(service, n)
        got = rx.wait_for(3)
        self.assertEqual([r["headers"]["authorization"] for r in got], ["Bearer tok1"] * 3)
        self.assertEqual(len(auth.requests), 1, "the token is cached across deliveries")
        token_request = auth.requests[0]
        self.assertEqual(token_request["method"], "POST")
        self.assertEqual(token_request["path"], "/oauth/token")
        self.assertEqual(urllib.parse.parse_qs(token_request["body"]),
                         {"grant_type": ["client_credentials"], "audience": ["orders-api"]})
        self.assertEqual(token_request["headers"]["authorization"],
                         "Basic " + base64.b64encode(("switchyard:" + SECRET).encode()).decode())
        self.assertEqual(token_request["headers"]["x-tenant"], "t1")

        refused.add("Bearer tok1")  # the server revokes the token
        self.send(service, 3)
        got = rx.wait_for(5)
        self.assertEqual([r["headers"]["authorization"] for r in got[3:]], ["Bearer tok1", "Bearer tok2"])
        self.assertEqual(got[3]["headers"]["webhook-id"], got[4]["headers"]["webhook-id"])
        self.assertEqual(len(auth.requests), 2)
        dest = admin_json(service, "GET", "/admin/destinations")[1]["destinations"][0]
        self.assertEqual((dest["state"], dest["connection_state"]), ("active", "AUTHORIZED"))
        self.assertNotIn(SECRET, "".join(service.log))
        self.assertNotIn("tok2", "".join(service.log))
        metrics = service.request("GET", "/metrics", admin=True)[1]
        self.assertIn('switchyard_oauth_token_requests_total{connection="partner",outcome="ok"} 2', metrics)
        self.assertNotIn(SECRET, metrics)

    def test_a_token_close_to_expiry_is_refreshed_before_use(self):
        self.expires_in = 2  # refreshed once half its life is gone
        auth = self.token_server()
        rx = Receiver()
        self.addCleanup(rx.close)
        service = self.service(auth.port, rx.port)
        self.send(service, 1)
        rx.wait_for(1)
        time.sleep(1.2)
        self.send(service, 2)
        got = rx.wait_for(2)
        self.assertEqual([r["headers"]["authorization"] for r in got], ["Bearer tok1", "Bearer tok2"])
        self.assertEqual(len(auth.requests), 2)

    def test_a_dead_authorization_endpoint_deauthorizes_and_dead_letters(self):
        rx = Receiver()
        self.addCleanup(rx.close)
        service = self.service(free_port(), rx.port, attempts=0)
        self.send(service, 1)
        dlq = wait_until(lambda: admin_json(service, "GET", "/admin/dlq/orders")[1]["entries"], timeout=10)
        self.assertEqual(len(dlq), 1)
        self.assertEqual(dlq[0]["attributes"]["ERROR_CODE"], "NO_PERMISSIONS")
        self.assertIn("no OAuth token for connection 'partner'", dlq[0]["attributes"]["ERROR_MESSAGE"])
        self.assertEqual(rx.requests, [])
        dest = wait_until(lambda: (lambda d: d if d.get("connection_state") == "DEAUTHORIZED" else None)(
            admin_json(service, "GET", "/admin/destinations")[1]["destinations"][0]), timeout=5)
        self.assertTrue(dest, "the destination never showed its connection as deauthorized")
        self.assertEqual((dest["state"], dest["connection_state"]), ("inactive", "DEAUTHORIZED"))
        self.assertIn("could not be reached", dest["connection_error"])


if __name__ == "__main__":
    unittest.main()
