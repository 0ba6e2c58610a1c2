"""A stand-in for an API Gateway stage with AWS_IAM authorization, on 127.0.0.1.

It checks each request's SigV4 signature the way API Gateway does: it takes the signed
headers the Authorization header names, rebuilds the canonical request, and computes the
expected signature with botocore's own SigV4Auth (the signer every AWS SDK for Python uses)
from the secret key it shares with the test. Then it answers like the generated stack:

  signed GET  <stage>/status?...  -> 200 {"items": []}
  signed POST <stage> with {}     -> 400 {"message": "Invalid request body"}
  no Authorization header         -> 403 {"message": "Missing Authentication Token"}
  a signature that does not match -> 403 {"message": "The request signature we calculated does not match ..."}

Usage: python sigv4_stage.py ACCESS_KEY SECRET_KEY REGION STAGE
Prints the port it listens on, then serves until killed.
"""

import datetime
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCESS_KEY, SECRET_KEY, REGION, STAGE = sys.argv[1:5]
SERVICE = "execute-api"
MAX_SKEW = datetime.timedelta(minutes=5)


def parse_authorization(value):
    algorithm, _, rest = value.partition(" ")
    fields = dict(part.strip().split("=", 1) for part in rest.split(","))
    return algorithm, fields


def verify(handler, body):
    auth = handler.headers.get("Authorization")
    if auth is None:
        return "Missing Authentication Token"
    algorithm, fields = parse_authorization(auth)
    if algorithm != "AWS4-HMAC-SHA256":
        return "unknown algorithm " + algorithm
    access_key, date, region, service, terminal = fields["Credential"].split("/")
    if access_key != ACCESS_KEY:
        return "The security token included in the request is invalid."
    if (region, service, terminal) != (REGION, SERVICE, "aws4_request"):
        return "Credential should be scoped to a valid region and service"
    amz_date = handler.headers.get("X-Amz-Date", "")
    signed_at = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
    if amz_date[:8] != date:
        return "Date in Credential scope does not match X-Amz-Date"
    if abs(datetime.datetime.utcnow() - signed_at) > MAX_SKEW:
        return "Signature expired"
    signed = fields["SignedHeaders"].split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        return "host and x-amz-date must be signed"
    headers = {name: handler.headers.get(name, "") for name in signed}
    url = "http://" + handler.headers["Host"] + handler.path
    request = AWSRequest(method=handler.command, url=url, headers=headers, data=body)
    request.context["timestamp"] = amz_date
    token = handler.headers.get("X-Amz-Security-Token")
    signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY, token), SERVICE, REGION)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if expected != fields["Signature"]:
        return (
            "The request signature we calculated does not match the signature you provided. "
            "Canonical request: " + canonical.replace("\n", "\\n")
        )
    return None


class Stage(BaseHTTPRequestHandler):
    def answer(self, status, doc):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        refused = verify(self, body)
        if refused is not None:
            return self.answer(403, {"message": refused})
        path = self.path.split("?", 1)[0].rstrip("/")
        if self.command == "GET" and path == "/" + STAGE + "/status":
            return self.answer(200, {"items": []})
        if self.command == "POST" and path == "/" + STAGE:
            if "StartTimestamp" not in json.loads(body or b"{}"):
                return self.answer(400, {"message": "Invalid request body"})
            return self.answer(200, {"jobId": "x", "executionArn": "arn:x", "idempotent": False})
        return self.answer(403, {"message": "Missing Authentication Token"})

    do_GET = handle_any
    do_POST = handle_any

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Stage)
print(server.server_address[1], flush=True)
server.serve_forever()
