#!/usr/bin/env python3
"""A fake Engine API daemon with canned networks and containers, for
comparing how the berth CLI and the docker CLI render the same answers and
what they send (network_cli.bats). Not berthd: nothing is created.

Usage: net_fake_daemon.py SOCK LOG [API_VERSION]
LOG gets one JSON line per POST/DELETE: {"method", "path", "body"}.

Canned state: networks bridge, host, none, n2, n10 (natural-sort case),
labelled; containers web (ports: dual-stack ephemeral, a published range, a
udp port on 127.0.0.1, an exposed-only port, an IPv6-only mapping) and db
(no ports, two networks). Unknown names answer 404 as dockerd does."""
import json, os, socketserver, http.server, sys, urllib.parse

SOCK, LOG = sys.argv[1], sys.argv[2]
VER = sys.argv[3] if len(sys.argv) > 3 else "1.41"


def nid(n):
    return ("%02x" % n) * 32


def net(n, name, driver, labels=None, internal=False, ipv6=False, subnet=None):
    return {
        "Name": name, "Id": nid(n), "Created": "2026-12-01T10:0%d:00.123456789Z" % n,
        "Scope": "local", "Driver": driver, "EnableIPv6": ipv6, "Internal": internal,
        "Attachable": False, "Ingress": False, "ConfigFrom": {"Network": ""}, "ConfigOnly": False,
        "IPAM": {"Driver": "default", "Options": None,
                 "Config": [{"Subnet": subnet, "Gateway": subnet.rsplit(".", 1)[0] + ".1"}] if subnet else []},
        "Containers": {}, "Options": {}, "Labels": labels or {},
    }


NETS = [
    net(1, "bridge", "bridge", subnet="172.17.0.0/16"),
    net(2, "host", "host"),
    net(3, "none", "null"),
    net(4, "n10", "bridge", {"env": "test"}, internal=True, subnet="172.30.10.0/24"),
    net(5, "n2", "bridge", {"env": "prod"}, ipv6=True, subnet="172.30.2.0/24"),
]

WEB_PORTS = [
    {"IP": "0.0.0.0", "PrivatePort": 8080, "PublicPort": 32768, "Type": "tcp"},
    {"IP": "::", "PrivatePort": 8080, "PublicPort": 32768, "Type": "tcp"},
    {"IP": "0.0.0.0", "PrivatePort": 9001, "PublicPort": 9001, "Type": "tcp"},
    {"IP": "0.0.0.0", "PrivatePort": 9000, "PublicPort": 9000, "Type": "tcp"},
    {"IP": "0.0.0.0", "PrivatePort": 9002, "PublicPort": 9002, "Type": "tcp"},
    {"IP": "127.0.0.1", "PrivatePort": 80, "PublicPort": 9999, "Type": "udp"},
    {"PrivatePort": 53, "Type": "udp"},
    {"PrivatePort": 54, "Type": "udp"},
    {"IP": "::1", "PrivatePort": 443, "PublicPort": 8443, "Type": "tcp"},
]
WEB_PORT_MAP = {
    "53/udp": None, "54/udp": None,
    "80/udp": [{"HostIp": "127.0.0.1", "HostPort": "9999"}],
    "443/tcp": [{"HostIp": "::1", "HostPort": "8443"}],
    "8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": "32768"}, {"HostIp": "::", "HostPort": "32768"}],
    "9000/tcp": [{"HostIp": "0.0.0.0", "HostPort": "9000"}],
    "9001/tcp": [{"HostIp": "0.0.0.0", "HostPort": "9001"}],
    "9002/tcp": [{"HostIp": "0.0.0.0", "HostPort": "9002"}],
    "9003/tcp": [],
}


def ctr(n, name, ports, nets):
    return {
        "Id": ("c%x" % n) * 32, "Names": ["/" + name], "Image": "busybox", "ImageID": "sha256:" + "ab" * 32,
        "Command": "sleep 1000", "Created": 1764583200, "Ports": ports, "Labels": {},
        "State": "running", "Status": "Up 5 minutes", "HostConfig": {"NetworkMode": nets[0]},
        "NetworkSettings": {"Networks": {k: {"NetworkID": "", "IPAddress": "172.30.2.%d" % n} for k in nets}},
        "Mounts": [],
    }


CTRS = [ctr(1, "web", WEB_PORTS, ["n2"]), ctr(2, "db", [], ["n2", "n10"])]


def log(method, path, body):
    with open(LOG, "a") as f:
        f.write(json.dumps({"method": method, "path": path, "body": body}) + "\n")


def find_net(ref):
    for n in NETS:
        if ref in (n["Name"], n["Id"]) or (len(ref) >= 1 and n["Id"].startswith(ref)):
            return n
    return None


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, obj):
        b = json.dumps(obj).encode() if obj is not None else b""
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Api-Version", VER)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def route(self):
        u = urllib.parse.urlparse(self.path)
        p = u.path
        if p.startswith("/v1."):
            p = "/" + p.split("/", 2)[2]
        return p, urllib.parse.parse_qs(u.query)

    def do_HEAD(self):
        self.send(200, None)

    def do_GET(self):
        p, q = self.route()
        if p == "/_ping":
            return self.send(200, None)
        if p == "/version":
            return self.send(200, {"ApiVersion": VER, "MinAPIVersion": "1.24", "Version": "28.0.0",
                                   "Os": "linux", "Arch": "amd64"})
        if p == "/networks":
            return self.send(200, NETS)
        if p.startswith("/networks/"):
            n = find_net(urllib.parse.unquote(p[len("/networks/"):]))
            if n is None:
                return self.send(404, {"message": "network %s not found" % urllib.parse.unquote(p[10:])})
            return self.send(200, n)
        if p == "/containers/json":
            return self.send(200, CTRS)
        if p.startswith("/containers/") and p.endswith("/json"):
            name = urllib.parse.unquote(p.split("/")[2])
            for c in CTRS:
                if name in (c["Names"][0][1:], c["Id"]):
                    ports = WEB_PORT_MAP if c["Names"][0] == "/web" else {}
                    return self.send(200, {"Id": c["Id"], "Name": c["Names"][0], "Config": {"Tty": False},
                                           "NetworkSettings": {"Ports": ports, "Networks": c["NetworkSettings"]["Networks"]}})
            return self.send(404, {"message": "No such container: " + name})
        self.send(404, {"message": "page not found"})

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n).decode() if n else ""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw

    def do_POST(self):
        p, q = self.route()
        b = self.body()
        log("POST", self.path, b)
        if p == "/networks/create":
            if b and b.get("Name") in [n["Name"] for n in NETS]:
                return self.send(409, {"message": "network with name %s already exists" % b["Name"]})
            return self.send(201, {"Id": "f" * 64, "Warning": ""})
        if p == "/containers/create":
            return self.send(201, {"Id": "c" * 64, "Warnings": []})
        if p == "/networks/prune":
            return self.send(200, {"NetworksDeleted": ["n10", "n2"]})
        if p.startswith("/networks/") and (p.endswith("/connect") or p.endswith("/disconnect")):
            ref = urllib.parse.unquote(p.split("/")[2])
            if find_net(ref) is None:
                return self.send(404, {"message": "network %s not found" % ref})
            if b and b.get("Container") not in ("web", "db"):
                return self.send(404, {"message": "No such container: %s" % b.get("Container")})
            return self.send(200, None)
        self.send(404, {"message": "page not found"})

    def do_DELETE(self):
        p, q = self.route()
        log("DELETE", self.path, None)
        ref = urllib.parse.unquote(p[len("/networks/"):])
        n = find_net(ref)
        if n is None:
            return self.send(404, {"message": "network %s not found" % ref})
        if n["Name"] in ("bridge", "host", "none"):
            return self.send(403, {"message": "%s is a pre-defined network and cannot be removed" % n["Name"]})
        self.send(204, None)


class S(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


if os.path.exists(SOCK):
    os.unlink(SOCK)
S(SOCK, H).serve_forever()
