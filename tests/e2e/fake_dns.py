#!/usr/bin/env python3
"""A tiny upstream DNS server for the networking acceptance tests:
`fake_dns.py ADDR PORT NAME IPV4 LOGFILE`. Listens on UDP ADDR:PORT (a
loopback address, so no query leaves the machine), answers A queries for
NAME with IPV4, NOERROR without answers for other types of NAME, NXDOMAIN
for every other name; appends each question's name to LOGFILE. Writes
"ready" to stdout once bound. Stopped by the test by pid."""
import socket
import struct
import sys

addr, port, name, ipv4, logfile = sys.argv[1:6]
name = name.lower().rstrip(".")
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((addr, int(port)))
print("ready", flush=True)


def qname(msg, off):
    labels = []
    while True:
        n = msg[off]
        off += 1
        if n == 0:
            return ".".join(labels), off
        labels.append(msg[off:off + n].decode("ascii", "replace"))
        off += n


while True:
    msg, peer = sock.recvfrom(4096)
    if len(msg) < 12:
        continue
    qid, flags, qd = struct.unpack("!HHH", msg[:6])
    if flags & 0x8000 or qd != 1:
        continue
    try:
        q, off = qname(msg, 12)
        qtype, qclass = struct.unpack("!HH", msg[off:off + 4])
    except (IndexError, struct.error):
        continue
    question = msg[12:off + 4]
    with open(logfile, "a") as f:
        f.write(f"{q} {qtype}\n")
    rd = flags & 0x0100
    if q.lower().rstrip(".") != name:
        hdr = struct.pack("!HHHHHH", qid, 0x8000 | 0x0400 | rd | 0x0080 | 3, 1, 0, 0, 0)
        sock.sendto(hdr + question, peer)
        continue
    answers = b""
    count = 0
    if qtype == 1:
        answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(ipv4)
        count = 1
    hdr = struct.pack("!HHHHHH", qid, 0x8000 | 0x0400 | rd | 0x0080, 1, count, 0, 0)
    sock.sendto(hdr + question + answers, peer)
