#!/usr/bin/env python3
"""A stand-in for a registry index's search API (/v1/search), which CNCF
distribution does not implement: answers GET /v2/ (200 {}) and
GET /v1/search?q=TERM&n=LIMIT from a fixed catalogue whose names contain
TERM, at most LIMIT of them.

usage: search_index.py PORTFILE   (listens on 127.0.0.1, kernel-chosen port)
"""
import json, os, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

CATALOGUE = [{"name": "busybox", "description": "Busybox base image.", "star_count": 3000, "is_official": True,
              "is_automated": False}]
CATALOGUE += [{"name": "someone/busybox-%03d" % i, "description": "A busybox variant number %d with a long "
               "description that docker search truncates" % i, "star_count": i, "is_official": False,
               "is_automated": False} for i in range(150)]


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        u = urlparse(self.path)
        if u.path == '/v2/':
            return self.reply(200, {})
        if u.path != '/v1/search':
            return self.reply(404, {"errors": [{"code": "NOT_FOUND", "message": "not found"}]})
        q = parse_qs(u.query)
        term = q.get('q', [''])[0]
        n = int(q.get('n', ['25'])[0])
        results = [r for r in CATALOGUE if term in r["name"]][:n]
        self.reply(200, {"num_results": len(results), "query": term, "results": results})

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        sys.stderr.write("index: " + (fmt % args) + "\n")


srv = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
with open(sys.argv[1] + '.tmp', 'w') as f:
    f.write(str(srv.server_address[1]))
os.rename(sys.argv[1] + '.tmp', sys.argv[1])
srv.serve_forever()
