#!/usr/bin/python3
"""An Engine API stand-in that answers `docker run --rm IMAGE CMD` at once.

    bench/instant_daemon.py SOCKET

It serves exactly the requests the docker CLI makes for that command
(HEAD/GET /_ping, POST /containers/create, POST .../attach (hijacked),
POST .../wait, POST .../start) and answers each as soon as it is read: the
start ends the attach stream and answers the wait with exit code 0. No
container runs. The time `docker -H unix://SOCKET run --rm busybox true`
takes against it is the docker CLI's own floor: its start-up, its
goroutines and signal set-up, its round trips over a unix socket and its
exit. No daemon can make the docker CLI faster than that, so
bench/start-timeline.sh prints it next to berthd and dockerd.

Any other request gets a 404 with a JSON message, so a CLI that asks for
more shows up as a failed run rather than a fast one.
"""
import asyncio
import json
import os
import sys

API_HEADERS = ("Api-Version: 1.50\r\nDocker-Experimental: false\r\n"
               "Ostype: linux\r\nServer: instant-daemon (bench)\r\n")
CONTAINER_ID = "0123456789ab" * 5 + "cdef"


class Run:
    """The open attach stream and wait of the one container being run."""

    def __init__(self):
        self.attach = None
        self.wait = None

    def finish(self):
        if self.attach is not None:
            self.attach.close()
        if self.wait is not None:
            body = b'{"Error":null,"StatusCode":0}\n'
            self.wait.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
            self.wait.close()
        self.attach = self.wait = None


def response(status, headers="", body=b""):
    head = f"HTTP/1.1 {status}\r\n{API_HEADERS}{headers}"
    if body or not status.startswith(("101", "204")):
        head += f"Content-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


async def serve(run, reader, writer):
    while True:
        line = await reader.readline()
        if not line:
            writer.close()
            return
        method, target, _ = line.decode("latin-1").split(" ", 2)
        path = target.split("?", 1)[0]
        length = 0
        while True:
            header = await reader.readline()
            if header in (b"\r\n", b""):
                break
            name, _, value = header.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if length:
            await reader.readexactly(length)

        if path.endswith("/_ping"):
            # HEAD gets the GET's Content-Length and no body
            writer.write(response("200 OK", "Content-Type: text/plain\r\n", b"OK")
                         [:None if method == "GET" else -2])
        elif path.endswith("/containers/create"):
            body = json.dumps({"Id": CONTAINER_ID, "Warnings": []}).encode()
            writer.write(response("201 Created", "Content-Type: application/json\r\n", body))
        elif path.endswith("/attach"):
            writer.write(response("101 UPGRADED",
                                  "Content-Type: application/vnd.docker.multiplexed-stream\r\n"
                                  "Connection: Upgrade\r\nUpgrade: tcp\r\n"))
            await writer.drain()
            run.attach = writer
            return
        elif path.endswith("/wait"):
            writer.write(f"HTTP/1.1 200 OK\r\n{API_HEADERS}Content-Type: application/json\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n".encode())
            await writer.drain()
            run.wait = writer
            return
        elif path.endswith("/start"):
            writer.write(response("204 No Content"))
            await writer.drain()
            run.finish()
        else:
            body = json.dumps({"message": f"instant daemon: {method} {path} is not served"}).encode()
            writer.write(response("404 Not Found", "Content-Type: application/json\r\n", body))
        await writer.drain()


async def main(path):
    run = Run()
    server = await asyncio.start_unix_server(lambda r, w: serve(run, r, w), path)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: instant_daemon.py SOCKET")
    if os.path.exists(sys.argv[1]):
        os.unlink(sys.argv[1])
    asyncio.run(main(sys.argv[1]))
