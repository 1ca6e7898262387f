#!/usr/bin/env python3
"""A small bearer-token server for registry e2e tests (distribution's token
auth): GET /token?service=&scope=repository:NAME:ACTIONS with optional basic
auth. USER:PASSWORD gets the actions it asks for; anonymous callers get
"pull" only on repositories under public/; wrong credentials get 401.
Tokens are ES256 JWTs carrying the signing certificate in x5c, which the
registry checks against its rootcertbundle.

usage: token_server.py PORTFILE KEY.pem CERT.pem ISSUER SERVICE USER:PASSWORD
Writes the port it listens on (127.0.0.1, chosen by the kernel) to PORTFILE.
"""
import base64, json, sys, time, os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

portfile, keyfile, certfile, issuer, service, userpass = sys.argv[1:7]
key = serialization.load_pem_private_key(open(keyfile, 'rb').read(), password=None)
cert = x509.load_pem_x509_certificate(open(certfile, 'rb').read())
x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b'=').decode()


def token(sub, access):
    now = int(time.time())
    header = {"typ": "JWT", "alg": "ES256", "x5c": [x5c]}
    claims = {"iss": issuer, "sub": sub, "aud": service, "exp": now + 300, "nbf": now - 10, "iat": now,
              "jti": b64url(os.urandom(12)), "access": access}
    signing = b64url(json.dumps(header).encode()) + '.' + b64url(json.dumps(claims).encode())
    r, s = decode_dss_signature(key.sign(signing.encode(), ec.ECDSA(hashes.SHA256())))
    return signing + '.' + b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        u = urlparse(self.path)
        q = parse_qs(u.query)
        user = ''
        auth = self.headers.get('Authorization', '')
        if auth.startswith('Basic '):
            if base64.b64decode(auth[6:]).decode() != userpass:
                return self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "invalid credentials"}]})
            user = userpass.split(':', 1)[0]
        access = []
        for scope in q.get('scope', []):
            for one in scope.split(' '):
                parts = one.split(':')
                if len(parts) != 3 or parts[0] != 'repository':
                    continue
                wanted = parts[2].split(',')
                granted = wanted if user else (['pull'] if parts[1].startswith('public/') and 'pull' in wanted else [])
                access.append({"type": "repository", "name": parts[1], "actions": granted})
        t = token(user, access)
        self.reply(200, {"token": t, "access_token": t, "expires_in": 300})

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        sys.stderr.write("token: " + (fmt % args) + "\n")


srv = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
with open(portfile + '.tmp', 'w') as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + '.tmp', portfile)
srv.serve_forever()
