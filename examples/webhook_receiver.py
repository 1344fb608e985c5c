"""A webhook receiver to try ``intake serve --simulate`` with: it verifies each POST's
Standard Webhooks signature and prints the payload, one JSON document per call.

    .venv/bin/python examples/webhook_receiver.py --port 9000 --secret whsec_...

Answers 204 to a verified webhook, 401 to one whose signature does not verify.
"""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, HTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--secret", required=True, help="the endpoint's whsec_... secret")
    args = parser.parse_args()
    verifier = Webhook(args.secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                payload = verifier.verify(body, headers)
            except WebhookVerificationError as exc:
                print(f"refused {headers.get('webhook-id')}: {exc}", flush=True)
                self.send_response(401)
            else:
                print(json.dumps(payload, indent=2, ensure_ascii=False), flush=True)
                self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    print(f"listening on http://127.0.0.1:{args.port}/hooks", flush=True)
    HTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
