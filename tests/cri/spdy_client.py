"""A small SPDY/3.1 client for the CRI streaming server's tests: the HTTP
upgrade, SYN_STREAM with zlib-compressed name/value blocks (one zlib
stream per direction, the SPDY/3 dictionary), DATA frames, PING, GOAWAY.
Written from the SPDY/3 draft with Python's zlib; the dictionary bytes
are read from src/cri/streaming/spdy_dictionary.cpp."""

import os
import re
import socket
import struct
import urllib.parse
import zlib

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _dictionary():
    with open(os.path.join(REPO, "src/cri/streaming/spdy_dictionary.cpp")) as f:
        text = f.read()
    body = text[text.index("kDict[] = {"):]
    body = body[:body.index("};")]
    data = bytes(int(h, 16) for h in re.findall(r"0x([0-9a-f]{2})", body))
    assert len(data) == 1423
    return data


DICT = _dictionary()
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY = 1, 2, 3, 4, 6, 7
FLAG_FIN = 1


def header_block(headers):
    out = struct.pack(">I", len(headers))
    for k, v in headers.items():
        k, v = k.lower().encode(), v.encode()
        out += struct.pack(">I", len(k)) + k + struct.pack(">I", len(v)) + v
    return out


def parse_header_block(raw):
    (n,), at, out = struct.unpack_from(">I", raw), 4, {}
    for _ in range(n):
        (kl,) = struct.unpack_from(">I", raw, at)
        k = raw[at + 4:at + 4 + kl].decode()
        at += 4 + kl
        (vl,) = struct.unpack_from(">I", raw, at)
        out[k] = raw[at + 4:at + 4 + vl].decode()
        at += 4 + vl
    return out


class SpdyConn:
    """One upgraded connection. upgrade() returns (status, headers)."""

    def __init__(self, url, protocols, timeout=20):
        u = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
        self.path = u.path + (("?" + u.query) if u.query else "")
        self.protocols = protocols
        self.comp = zlib.compressobj(9, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, DICT)
        self.decomp = zlib.decompressobj(zdict=DICT)
        self.buf = b""
        self.next_id = 1
        self.data = {}
        self.fin = set()
        self.replied = set()
        self.reset = {}
        self.goaway = False
        self.closed = False

    def upgrade(self):
        req = (f"POST {self.path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
               + "".join(f"X-Stream-Protocol-Version: {p}\r\n" for p in self.protocols) + "\r\n")
        self.sock.sendall(req.encode())
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers.setdefault(k.strip().lower(), []).append(v.strip())
        return status, headers

    def open(self, headers):
        sid = self.next_id
        self.next_id += 2
        block = self.comp.compress(header_block(headers)) + self.comp.flush(zlib.Z_SYNC_FLUSH)
        body = struct.pack(">IIBB", sid, 0, 0, 0) + block
        self.sock.sendall(struct.pack(">HHI", 0x8003, SYN_STREAM, len(body)) + body)
        return sid

    def send(self, sid, payload, fin=False):
        self.sock.sendall(struct.pack(">II", sid, (FLAG_FIN if fin else 0) << 24 | len(payload)) + payload)

    def ping(self, pid):
        self.sock.sendall(struct.pack(">HHII", 0x8003, PING, 4, pid))

    def _frames(self):
        while len(self.buf) >= 8:
            w0, w1 = struct.unpack_from(">II", self.buf)
            n = w1 & 0xFFFFFF
            if len(self.buf) < 8 + n:
                return
            body, flags = self.buf[8:8 + n], w1 >> 24
            self.buf = self.buf[8 + n:]
            if not w0 & 0x80000000:
                sid = w0 & 0x7FFFFFFF
                self.data[sid] = self.data.get(sid, b"") + body
                if flags & FLAG_FIN:
                    self.fin.add(sid)
                continue
            ftype = w0 & 0xFFFF
            if ftype == SYN_REPLY:
                (sid,) = struct.unpack_from(">I", body)
                parse_header_block(self.decomp.decompress(body[4:]))
                self.replied.add(sid & 0x7FFFFFFF)
            elif ftype == RST_STREAM:
                sid, code = struct.unpack_from(">II", body)
                self.reset[sid] = code
            elif ftype == PING:
                self.pong = struct.unpack_from(">I", body)[0]
            elif ftype == GOAWAY:
                self.goaway = True

    def pump(self, pred):
        """Reads until pred() holds; False if the connection ended first."""
        while not pred():
            self._frames()
            if pred():
                return True
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False
            if not chunk:
                self.closed = True
                self._frames()
                return pred()
            self.buf += chunk
        return True

    def close(self):
        self.sock.close()
