"""A receiver written the way Extracta.ai's documentation tells its users to:
it recomputes `x-webhook-signature` (base64 HMAC-SHA256 of the `result`
member as a JSON string, keyed by the secret without its `E_AI_K_` prefix)
and answers 401 when it differs.

Usage: extracta_receiver.py SECRET — prints the port it listens on, then one
line per request: `accepted EVENT` or `rejected EVENT`.
"""

import base64
import hashlib
import hmac
import http.server
import json
import sys

SECRET = sys.argv[1]
KEY = SECRET[len("E_AI_K_"):] if SECRET.startswith("E_AI_K_") else SECRET


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        payload = json.dumps(body.get("result"), separators=(",", ":"), ensure_ascii=False)
        expected = base64.b64encode(
            hmac.new(KEY.encode(), payload.encode(), hashlib.sha256).digest()
        ).decode()
        ok = hmac.compare_digest(expected, self.headers.get("x-webhook-signature", ""))
        self.send_response(200 if ok else 401)
        self.end_headers()
        print(("accepted " if ok else "rejected ") + str(body.get("event")), flush=True)

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
print(server.server_address[1], flush=True)
server.serve_forever()
