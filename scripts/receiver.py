#!/usr/bin/env python3
"""A webhook receiver for trying docpush: prints each delivery and checks its
Standard Webhooks signature when WEBHOOK_SECRET is set.

    python3 scripts/receiver.py 9000            # listen on 127.0.0.1:9000
    WEBHOOK_SECRET=whsec_... python3 scripts/receiver.py 9000
"""
import base64, hashlib, hmac, http.server, json, os, sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        msg_id = self.headers.get("webhook-id", "")
        ts = self.headers.get("webhook-timestamp", "")
        sigs = self.headers.get("webhook-signature", "").split()
        verdict = "unverified (set WEBHOOK_SECRET)"
        secret = os.environ.get("WEBHOOK_SECRET")
        if secret:
            key = base64.b64decode(secret.removeprefix("whsec_"))
            mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
            expected = "v1," + base64.b64encode(mac).decode()
            verdict = "signature OK" if any(hmac.compare_digest(expected, s) for s in sigs) else "BAD SIGNATURE"
        event = json.loads(body)
        data = event.get("data", {})
        print(f"{event.get('type')} {data.get('file_name')} {verdict}\n  {json.dumps(data.get('result'))}", flush=True)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
print(f"listening on http://127.0.0.1:{port}/hook", flush=True)
http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
