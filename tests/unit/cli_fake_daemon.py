#!/usr/bin/env python3
"""A tiny fake Engine API daemon on a unix socket, for exercising the berth
CLI (and the docker CLI, to compare) without berthd. Not a unit test: run by
hand:  python3 tests/unit/cli_fake_daemon.py /tmp/x/s.sock /tmp/x/log

Containers "run" a few canned commands: true, echo ARGS, cat (echo stdin),
sh -c 'exit N', sleep (until killed); a command named nonexistentcmd fails
start like runc does. Images: busybox:latest only; anything with "none" in
its name 404s on create and on pull."""
import json, os, socket, socketserver, struct, sys, threading, time, urllib.parse

SOCK, LOG = sys.argv[1], sys.argv[2]
lock = threading.Lock()
containers = {}  # id -> dict
execs = {}
NOW = int(time.time())
IMG_ID = "sha256:" + "ab" * 32


def log(line):
    with lock, open(LOG, "a") as f:
        f.write(line + "\n")


def cid(n):
    return ("%064x" % (0xC0FFEE000 + n))


class Ctr:
    def __init__(self, n, body, name):
        self.id = cid(n)
        self.name = name or "ctr%d" % n
        self.body = body
        self.tty = body.get("Tty", False)
        self.state = "created"
        self.code = 0
        self.attach = None  # (sock, stdin?)
        self.waiters = []
        self.killed = threading.Event()
        self.done = threading.Event()
        self.created = NOW - 120


def frame(stream, data):
    return bytes([stream, 0, 0, 0]) + struct.pack(">I", len(data)) + data


class Handler(socketserver.BaseRequestHandler):
    def readline(self):
        while b"\n" not in self.buf:
            d = self.request.recv(65536)
            if not d:
                return None
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode()

    def readn(self, n):
        while len(self.buf) < n:
            d = self.request.recv(65536)
            if not d:
                break
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, status, body=b"", ctype="application/json", extra=()):
        if isinstance(body, (dict, list)):
            body = (json.dumps(body) + "\n").encode()
        reason = {200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified", 400: "Bad Request",
                  404: "Not Found", 409: "Conflict", 500: "Internal Server Error"}.get(status, "X")
        h = "HTTP/1.1 %d %s\r\nApi-Version: 1.41\r\nServer: Docker/20.10.24 (linux)\r\nOstype: linux\r\n" % (status, reason)
        for k, v in extra:
            h += "%s: %s\r\n" % (k, v)
        if status not in (204, 304):
            h += "Content-Type: %s\r\nContent-Length: %d\r\n" % (ctype, len(body))
        self.request.sendall((h + "\r\n").encode() + (body if status not in (204, 304) else b""))

    def err(self, status, msg):
        self.send(status, {"message": msg})

    def chunked_head(self):
        self.request.sendall(b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n")

    def chunk(self, data):
        if isinstance(data, (dict, list)):
            data = (json.dumps(data) + "\n").encode()
        self.request.sendall(b"%x\r\n" % len(data) + data + b"\r\n")

    def end_chunks(self):
        self.request.sendall(b"0\r\n\r\n")

    def handle(self):
        self.buf = b""
        while True:
            line = self.readline()
            if not line:
                return
            method, target, _ = line.split(" ", 2)
            headers = {}
            while True:
                h = self.readline()
                if h is None:
                    return
                if h == "":
                    break
                k, v = h.split(":", 1)
                headers[k.strip().lower()] = v.strip()
            body = b""
            if headers.get("transfer-encoding", "").lower() == "chunked":
                while True:
                    size = int(self.readline().split(";")[0], 16)
                    if size == 0:
                        self.readline()
                        break
                    body += self.readn(size)
                    self.readline()
            elif "content-length" in headers:
                body = self.readn(int(headers["content-length"]))
            u = urllib.parse.urlsplit(target)
            path = u.path
            q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
            log("%s %s%s" % (method, target, (" " + body.decode(errors="replace")) if body and len(body) < 4000 else (" <%d bytes>" % len(body) if body else "")))
            for pre in ("/v1.41", "/v1.50"):
                if path.startswith(pre):
                    path = path[len(pre):]
            if self.route(method, path, q, headers, body) == "hijacked":
                return

    def find(self, ref):
        ref = ref.lstrip("/")
        for c in containers.values():
            if c.id == ref or c.name == ref or c.id.startswith(ref):
                return c
        return None

    def finish_ctr(self, c, code):
        c.code = code
        c.state = "exited"
        if c.attach:
            try:
                c.attach.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.attach.close()
            c.attach = None
        c.done.set()
        if c.body.get("HostConfig", {}).get("AutoRemove"):
            containers.pop(c.id, None)
        for w in c.waiters:
            w.set()

    def run_ctr(self, c):
        cmd = c.body.get("Cmd") or ["sh"]
        a = c.attach
        out = (lambda s, d: a.sendall(d if c.tty else frame(s, d))) if a else (lambda s, d: None)
        try:
            if cmd[0] == "echo":
                out(1, (" ".join(cmd[1:]) + "\n").encode())
                self.finish_ctr(c, 0)
            elif cmd[0] == "cat":
                while a:
                    d = a.recv(65536)
                    if not d:
                        break
                    out(1, d)
                self.finish_ctr(c, 0)
            elif cmd[:2] == ["sh", "-c"] and cmd[2].startswith("exit"):
                out(1, b"out\n")
                out(2, b"err\n")
                self.finish_ctr(c, int(cmd[2].split()[1]))
            elif cmd[0] == "sleep":
                c.killed.wait(float(cmd[1]) if len(cmd) > 1 else 3600)
                self.finish_ctr(c, c.code if c.killed.is_set() else 0)
            else:
                self.finish_ctr(c, 0)
        except OSError:
            self.finish_ctr(c, 0)

    def route(self, m, p, q, headers, body):
        g = lambda k, d="": q.get(k, [d])[0]
        if p == "/_ping":
            if m == "HEAD":
                self.request.sendall(b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nOstype: linux\r\nContent-Length: 0\r\n\r\n")
                return
            return self.send(200, b"OK", "text/plain")
        if p == "/version":
            return self.send(200, {"Platform": {"Name": ""}, "Components": [{"Name": "Engine", "Version": "0.1.0",
                "Details": {"ApiVersion": "1.41", "Arch": "amd64", "BuildTime": "2026-11-28T21:09:36.000000000+00:00",
                            "Experimental": "false", "GitCommit": "abc1234", "GoVersion": "n/a", "KernelVersion": "6.1",
                            "MinAPIVersion": "1.24", "Os": "linux"}}],
                "Version": "0.1.0", "ApiVersion": "1.41", "MinAPIVersion": "1.24", "GitCommit": "abc1234",
                "GoVersion": "n/a", "Os": "linux", "Arch": "amd64", "KernelVersion": "6.1",
                "BuildTime": "2026-11-28T21:09:36.000000000+00:00"})
        if p == "/info":
            return self.send(200, {"ID": "X", "Containers": len(containers), "ContainersRunning": 0, "ContainersPaused": 0,
                "ContainersStopped": len(containers), "Images": 1, "Driver": "overlay2",
                "DriverStatus": [["Backing Filesystem", "extfs"]],
                "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "null"], "Authorization": None, "Log": ["json-file"]},
                "LoggingDriver": "json-file", "CgroupDriver": "cgroupfs", "CgroupVersion": "1", "KernelVersion": "6.1",
                "OperatingSystem": "Debian GNU/Linux 12 (bookworm)", "OSVersion": "12", "OSType": "linux",
                "Architecture": "x86_64", "NCPU": 2, "MemTotal": 25276026880, "DockerRootDir": "/var/lib/berth",
                "Name": "vm", "Labels": [], "ExperimentalBuild": False, "ServerVersion": "0.1.0",
                "Runtimes": {"runc": {"path": "runc"}}, "DefaultRuntime": "runc",
                "Swarm": {"NodeID": "", "LocalNodeState": "inactive"}, "LiveRestoreEnabled": False,
                "InitBinary": "docker-init", "SecurityOptions": ["name=seccomp,profile=default"],
                "RegistryConfig": {"InsecureRegistryCIDRs": ["127.0.0.0/8"]}, "Warnings": None})
        if p == "/containers/create":
            b = json.loads(body or b"{}")
            if "none" in b.get("Image", ""):
                return self.err(404, "No such image: " + b["Image"])
            name = g("name")
            for c in containers.values():
                if name and c.name == name:
                    return self.err(409, 'Conflict. The container name "/%s" is already in use by container "%s". You have to remove (or rename) that container to be able to reuse that name.' % (name, c.id))
            c = Ctr(len(containers) + 1 + int(time.time() * 1000) % 100000, b, name)
            containers[c.id] = c
            return self.send(201, {"Id": c.id, "Warnings": []})
        if p == "/containers/json":
            out = []
            for c in containers.values():
                if c.state != "running" and g("all") not in ("1", "true"):
                    continue
                out.append({"Id": c.id, "Names": ["/" + c.name], "Image": c.body.get("Image"), "ImageID": IMG_ID,
                            "Command": " ".join(c.body.get("Cmd") or ["sh"]), "Created": c.created,
                            "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}],
                            "Labels": c.body.get("Labels") or {}, "State": c.state,
                            "Status": "Up 2 minutes" if c.state == "running" else "Exited (%d) 1 second ago" % c.code,
                            "HostConfig": {"NetworkMode": "default"}, "NetworkSettings": {"Networks": {"bridge": {}}},
                            "Mounts": []})
            return self.send(200, out)
        if p == "/images/json":
            return self.send(200, [{"Containers": -1, "Created": NOW - 3 * 86400 * 7, "Id": IMG_ID, "Labels": None,
                                    "ParentId": "", "RepoDigests": ["busybox@sha256:" + "cd" * 32],
                                    "RepoTags": ["busybox:latest", "busybox:local"], "SharedSize": -1,
                                    "Size": 4261550, "VirtualSize": 4261550},
                                   {"Containers": -1, "Created": NOW - 3600, "Id": "sha256:" + "ef" * 32, "Labels": None,
                                    "ParentId": "", "RepoDigests": ["<none>@<none>"], "RepoTags": ["<none>:<none>"],
                                    "SharedSize": -1, "Size": 1234, "VirtualSize": 1234}])
        if p == "/images/create":
            if g("fromSrc") == "-":
                self.chunked_head()
                self.chunk({"status": "sha256:" + "12" * 32})
                return self.end_chunks()
            img = g("fromImage")
            if "none" in img:
                return self.err(404, "manifest for %s:%s not found: manifest unknown: manifest unknown" % (img, g("tag")))
            self.chunked_head()
            self.chunk({"status": "Pulling from library/busybox", "id": g("tag")})
            self.chunk({"status": "Pulling fs layer", "progressDetail": {}, "id": "f510ec236e04"})
            self.chunk({"status": "Downloading", "progressDetail": {"current": 1, "total": 2}, "progress": "[=>  ]", "id": "f510ec236e04"})
            self.chunk({"status": "Pull complete", "progressDetail": {}, "id": "f510ec236e04"})
            self.chunk({"status": "Digest: sha256:" + "cd" * 32})
            self.chunk({"status": "Status: Downloaded newer image for busybox:" + g("tag")})
            return self.end_chunks()
        if p.startswith("/images/") and p.endswith("/json"):
            name = p[len("/images/"):-len("/json")]
            if "busybox" not in name and not IMG_ID[7:].startswith(name):
                return self.err(404, "No such image: " + name)
            return self.send(200, {"Id": IMG_ID, "RepoTags": ["busybox:latest"], "Size": 4261550, "Config": {"Cmd": ["sh"]}})
        if p.startswith("/images/") and p.endswith("/tag"):
            return self.send(201, b"", "text/plain")
        if p.startswith("/images/") and m == "DELETE":
            return self.send(200, [{"Untagged": p[8:]}, {"Deleted": IMG_ID}])
        if p.startswith("/exec/"):
            parts = p.split("/")
            eid, act = parts[2], parts[3]
            e = execs.get(eid)
            if e is None:
                return self.err(404, "No such exec instance: " + eid)
            if act == "json":
                return self.send(200, {"ID": eid, "Running": False, "ExitCode": e["code"]})
            if act == "resize":
                return self.send(200, b"", "text/plain")
            if act == "start":
                sb = json.loads(body or b"{}")
                if sb.get("Detach"):
                    return self.send(200, b"", "text/plain")
                self.request.sendall(b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
                cmd = e["body"].get("Cmd", [])
                tty = e["body"].get("Tty")
                data = (" ".join(cmd[1:]) + "\n").encode() if cmd and cmd[0] == "echo" else b"exec-out\n"
                self.request.sendall(data if tty else frame(1, data))
                e["code"] = 4 if "exit4" in cmd else 0
                self.request.shutdown(socket.SHUT_RDWR)
                return "hijacked"
        if p.startswith("/containers/"):
            parts = p.split("/")
            c = self.find(parts[2])
            act = parts[3] if len(parts) > 3 else ""
            if c is None:
                if m == "POST" and act == "wait" and g("condition") == "removed":
                    self.chunked_head()
                    self.chunk({"Error": None, "StatusCode": 0})
                    return self.end_chunks()
                return self.err(404, "No such container: " + parts[2])
            if act == "json":
                return self.send(200, {"Id": c.id, "Created": "2026-11-28T21:20:00.112130484Z", "Path": (c.body.get("Cmd") or ["sh"])[0],
                                       "Args": (c.body.get("Cmd") or ["sh"])[1:],
                                       "State": {"Status": c.state, "Running": c.state == "running", "Paused": False,
                                                 "Restarting": False, "ExitCode": c.code},
                                       "Image": IMG_ID, "Name": "/" + c.name,
                                       "Config": {"Tty": c.tty, "OpenStdin": c.body.get("OpenStdin", False), "Image": c.body.get("Image"),
                                                  "Labels": c.body.get("Labels") or {}}})
            if act == "attach":
                if headers.get("upgrade") != "tcp":
                    return self.err(400, "expected upgrade")
                self.request.sendall(b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
                if self.buf:
                    log("WARN buffered after attach")
                c.attach = self.request
                c.done.wait()
                return "hijacked"
            if act == "wait":
                ev = threading.Event()
                cond = g("condition", "not-running")
                if cond == "not-running" and c.state != "running":
                    ev.set()
                c.waiters.append(ev)
                self.chunked_head()
                ev.wait()
                self.chunk({"Error": None, "StatusCode": c.code})
                return self.end_chunks()
            if act == "start":
                if c.state == "running":
                    return self.send(304)
                cmd = c.body.get("Cmd") or ["sh"]
                if cmd[0] == "nonexistentcmd":
                    return self.err(400, 'failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "nonexistentcmd": executable file not found in $PATH: unknown')
                c.state = "running"
                threading.Thread(target=self.run_ctr, args=(c,), daemon=True).start()
                return self.send(204)
            if act == "kill":
                if c.state != "running":
                    return self.err(409, "Cannot kill container: %s: Container %s is not running" % (parts[2], c.id))
                sig = g("signal", "KILL")
                c.code = {"INT": 130, "TERM": 143}.get(sig, 137)
                c.killed.set()
                return self.send(204)
            if act in ("stop", "restart"):
                if c.state != "running" and act == "stop":
                    return self.send(304)
                c.code = 143
                c.killed.set()
                return self.send(204)
            if act == "resize":
                return self.send(200, b"", "text/plain")
            if act == "rename":
                c.name = g("name")
                return self.send(204)
            if act == "logs":
                self.request.sendall(b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nTransfer-Encoding: chunked\r\n\r\n")
                self.chunk(b"log-out\n" if c.tty else frame(1, b"log-out\n"))
                self.chunk(b"log-err\n" if c.tty else frame(2, b"log-err\n"))
                return self.end_chunks()
            if act == "exec":
                if c.state != "running":
                    return self.err(409, "Container %s is not running" % c.id)
                eid = "%064x" % (len(execs) + 0xE0)
                execs[eid] = {"body": json.loads(body), "code": 0}
                return self.send(201, {"Id": eid})
            if m == "DELETE":
                if c.state == "running" and g("force") not in ("1", "true"):
                    return self.err(409, "You cannot remove a running container %s. Stop the container before attempting removal or force remove" % c.id)
                c.killed.set()
                containers.pop(c.id, None)
                return self.send(204)
        return self.err(404, "page not found")


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


if os.path.exists(SOCK):
    os.unlink(SOCK)
Server(SOCK, Handler).serve_forever()
