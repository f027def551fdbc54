#!/usr/bin/env python3
"""tests/system/token-server.py — a tiny Docker registry token server for the
registry tests (registry.bats), on 127.0.0.1 only.

Implements the token flow of the distribution spec (docs "Token Authentication
Specification"): GET /token?service=S&scope=repository:NAME:pull,push with HTTP
Basic credentials, and the OAuth2 form POST /token (grant_type=password).
Answers {"token", "access_token", "expires_in", "issued_at"} with an RS256 JWT
signed by a throw-away key; the header carries the certificate in "x5c", which
docker-registry checks against its auth.token.rootcertbundle (the same cert).

Valid credentials (--user NAME:PASSWORD, repeatable) get every action they ask
for; no credentials get a token with no access (the registry then answers 401,
as Docker Hub does for a private repository); wrong credentials get 401 here.
Each request is logged as one line on stderr.

Usage: token-server.py --port P --key key.pem --cert cert.pem --issuer I
                       --service S --user u:p [--user ...]
"""
import argparse
import base64
import json
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Issuer:
    def __init__(self, args):
        with open(args.key, "rb") as f:
            self.key = serialization.load_pem_private_key(f.read(), password=None)
        with open(args.cert, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        self.x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
        self.issuer = args.issuer
        self.service = args.service
        self.users = dict(u.split(":", 1) for u in args.user)

    def check(self, user, password):
        return user in self.users and self.users[user] == password

    def token(self, subject, scopes, granted):
        now = int(time.time())
        access = []
        for scope in scopes:
            parts = scope.split(":")
            if len(parts) < 3:
                continue
            kind, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1]
            access.append({"type": kind, "name": name,
                           "actions": actions.split(",") if granted else []})
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        claims = {"iss": self.issuer, "sub": subject, "aud": self.service,
                  "exp": now + 300, "nbf": now - 10, "iat": now,
                  "jti": uuid.uuid4().hex, "access": access}
        signing = (b64url(json.dumps(header).encode()) + "." +
                   b64url(json.dumps(claims).encode()))
        sig = self.key.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing + "." + b64url(sig), now


def make_handler(issuer):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            sys.stderr.write("token-server: " + (fmt % args) + "\n")

        def reply(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if code == 401:
                self.send_header("WWW-Authenticate", 'Basic realm="berth-test-token"')
            self.end_headers()
            self.wfile.write(data)

        def basic(self):
            h = self.headers.get("Authorization", "")
            if not h.lower().startswith("basic "):
                return None
            try:
                user, _, password = base64.b64decode(h[6:]).decode().partition(":")
            except ValueError:
                return ("", "")
            return (user, password)

        def grant(self, creds, scopes):
            if creds is None:
                tok, now = issuer.token("", scopes, False)
            elif issuer.check(*creds):
                tok, now = issuer.token(creds[0], scopes, True)
            else:
                self.reply(401, {"errors": [{"code": "UNAUTHORIZED",
                                             "message": "invalid username or password"}]})
                return
            issued = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
            self.reply(200, {"token": tok, "access_token": tok, "expires_in": 300,
                             "issued_at": issued})

        def do_GET(self):
            u = urlparse(self.path)
            if u.path != "/token":
                self.reply(404, {"error": "not found"})
                return
            q = parse_qs(u.query)
            scopes = [s for v in q.get("scope", []) for s in v.split(" ")]
            self.grant(self.basic(), scopes)

        def do_POST(self):
            u = urlparse(self.path)
            n = int(self.headers.get("Content-Length", "0"))
            form = parse_qs(self.rfile.read(n).decode())
            if u.path != "/token" or form.get("grant_type", [""])[0] != "password":
                self.reply(400, {"error": "unsupported_grant_type"})
                return
            scopes = [s for v in form.get("scope", []) for s in v.split(" ")]
            creds = (form.get("username", [""])[0], form.get("password", [""])[0])
            self.grant(creds, scopes)

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--issuer", required=True)
    ap.add_argument("--service", required=True)
    ap.add_argument("--user", action="append", default=[])
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(Issuer(args)))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
