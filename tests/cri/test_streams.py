"""ExecSync, Exec, Attach and PortForward (runtime_streams.cpp and the
streaming server, src/cri/streaming/): the RPCs' answers and errors, and
whole sessions through real clients: websocket-client speaking
v5.channel.k8s.io / v4.channel.k8s.io, and spdy_client.py speaking
SPDY/3.1. The containers run in one pod sandbox."""

import json
import time
import uuid

import grpc
import pytest
import websocket

from spdy_client import SpdyConn


def status_exit_code(doc):
    st = json.loads(doc)
    if st["status"] == "Success":
        return 0
    assert st["reason"] == "NonZeroExitCode", st
    return int(next(c["message"] for c in st["details"]["causes"] if c["reason"] == "ExitCode"))


IMAGE = "busybox:latest"  # replaced by the CRI's own pull (cri_image)


@pytest.fixture(scope="module", autouse=True)
def cri_image(img, api_pb, cri_pull):
    """busybox in the CRI's image namespace for this module's containers."""
    global IMAGE
    IMAGE = cri_pull("cri-stream/busybox:latest")
    yield IMAGE
    img.RemoveImage(api_pb.RemoveImageRequest(image=api_pb.ImageSpec(image=IMAGE)))


@pytest.fixture(scope="module")
def pod(rt, api_pb, tmp_path_factory):
    """One pod for the module (its own network namespace, no CNI): (id, config)."""
    cfg = api_pb.PodSandboxConfig(
        metadata=api_pb.PodSandboxMetadata(name="streampod", uid=str(uuid.uuid4()), namespace="cri-stream"),
        hostname="streampod-host",
        log_directory=str(tmp_path_factory.mktemp("streamlogs")),
    )
    pod_id = rt.RunPodSandbox(api_pb.RunPodSandboxRequest(config=cfg)).pod_sandbox_id
    yield pod_id, cfg
    rt.StopPodSandbox(api_pb.StopPodSandboxRequest(pod_sandbox_id=pod_id))
    rt.RemovePodSandbox(api_pb.RemovePodSandboxRequest(pod_sandbox_id=pod_id))


def container(rt, api_pb, pod, name, command, start=True, **kw):
    pod_id, cfg = pod
    c = api_pb.ContainerConfig(metadata=api_pb.ContainerMetadata(name=name), image=api_pb.ImageSpec(image=IMAGE),
                               command=list(command), **kw)
    cid = rt.CreateContainer(api_pb.CreateContainerRequest(pod_sandbox_id=pod_id, config=c,
                                                           sandbox_config=cfg)).container_id
    if start:
        rt.StartContainer(api_pb.StartContainerRequest(container_id=cid))
    return cid


def remove(rt, api_pb, cid):
    rt.StopContainer(api_pb.StopContainerRequest(container_id=cid, timeout=0))
    rt.RemoveContainer(api_pb.RemoveContainerRequest(container_id=cid))


@pytest.fixture(scope="module")
def ctr(rt, api_pb, pod):
    cid = container(rt, api_pb, pod, "sleeper", ["sleep", "600"])
    yield cid
    remove(rt, api_pb, cid)


@pytest.fixture(scope="module")
def cat_ctr(rt, api_pb, pod):
    """A container whose stdin is open: attach relays it to cat."""
    cid = container(rt, api_pb, pod, "cat", ["cat"], stdin=True)
    yield cid
    remove(rt, api_pb, cid)


@pytest.fixture(scope="module")
def httpd_ctr(rt, api_pb, pod):
    """busybox httpd on port 8080 in the pod's network namespace: (pod id, container id)."""
    cid = container(rt, api_pb, pod, "httpd", ["httpd", "-f", "-p", "8080", "-h", "/etc"])
    yield pod[0], cid
    remove(rt, api_pb, cid)


def test_exec_sync_output_and_exit_code(rt, api_pb, ctr):
    r = rt.ExecSync(api_pb.ExecSyncRequest(container_id=ctr, cmd=["sh", "-c", "echo out; echo err >&2; exit 3"]))
    assert r.stdout == b"out\n"
    assert r.stderr == b"err\n"
    assert r.exit_code == 3
    ok = rt.ExecSync(api_pb.ExecSyncRequest(container_id=ctr, cmd=["true"], timeout=5))
    assert ok.exit_code == 0 and ok.stdout == b"" and ok.stderr == b""


def test_exec_sync_timeout_kills_the_command(rt, api_pb, ctr):
    start = time.monotonic()
    with pytest.raises(grpc.RpcError) as e:
        rt.ExecSync(api_pb.ExecSyncRequest(container_id=ctr, cmd=["sleep", "77"], timeout=1))
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert "timeout 1s exceeded" in e.value.details()
    assert time.monotonic() - start < 10
    ps = rt.ExecSync(api_pb.ExecSyncRequest(container_id=ctr, cmd=["ps", "-o", "args"]))
    assert b"sleep 77" not in ps.stdout
    # a child keeps the output open after the shell is killed: the call
    # still ends within the timeout plus a short grace
    start = time.monotonic()
    with pytest.raises(grpc.RpcError) as e:
        rt.ExecSync(api_pb.ExecSyncRequest(container_id=ctr, cmd=["sh", "-c", "sleep 30; echo late"], timeout=1))
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - start < 8


def test_exec_sync_errors(rt, api_pb, berth, pod):
    with pytest.raises(grpc.RpcError) as e:
        rt.ExecSync(api_pb.ExecSyncRequest(container_id="0" * 64, cmd=["true"]))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    # a Docker API container is not the CRI's to see
    docker = berth("run", "-d", "busybox", "sleep", "60").stdout.strip()
    try:
        with pytest.raises(grpc.RpcError) as e:
            rt.ExecSync(api_pb.ExecSyncRequest(container_id=docker, cmd=["true"]))
        assert e.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        berth("rm", "-f", docker, check=False)
    created = container(rt, api_pb, pod, "created", ["true"], start=False)
    try:
        with pytest.raises(grpc.RpcError) as e:
            rt.ExecSync(api_pb.ExecSyncRequest(container_id=created, cmd=["true"]))
        assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        with pytest.raises(grpc.RpcError) as e:
            rt.Exec(api_pb.ExecRequest(container_id=created, cmd=["true"], stdout=True))
        assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    finally:
        rt.RemoveContainer(api_pb.RemoveContainerRequest(container_id=created))


def test_exec_request_validation(rt, api_pb, ctr):
    with pytest.raises(grpc.RpcError) as e:
        rt.Exec(api_pb.ExecRequest(container_id=ctr, cmd=["true"], tty=True, stdout=True, stderr=True))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "tty and stderr cannot both be true" in e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        rt.Exec(api_pb.ExecRequest(container_id=ctr, cmd=["true"]))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as e:
        rt.Attach(api_pb.AttachRequest(container_id="1" * 64, stdout=True))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as e:
        rt.PortForward(api_pb.PortForwardRequest(pod_sandbox_id="2" * 64, port=[80]))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


def ws_url(url):
    assert url.startswith("http://127.0.0.1:"), url
    return "ws://" + url[len("http://"):]


def ws_collect(ws):
    """Messages until the server closes: {channel: bytes}."""
    out = {}
    while True:
        try:
            op, data = ws.recv_data(control_frame=True)
        except websocket.WebSocketConnectionClosedException:
            break
        if op == websocket.ABNF.OPCODE_CLOSE:
            break
        if op == websocket.ABNF.OPCODE_BINARY and data:
            out[data[0]] = out.get(data[0], b"") + data[1:]
    return out


def test_exec_websocket_v5_streams_and_exit_code(rt, api_pb, ctr):
    url = rt.Exec(api_pb.ExecRequest(container_id=ctr, cmd=["sh", "-c", "cat; echo err >&2; exit 3"],
                                     stdin=True, stdout=True, stderr=True)).url
    ws = websocket.create_connection(ws_url(url), subprotocols=["v5.channel.k8s.io"], timeout=20)
    assert ws.getsubprotocol() == "v5.channel.k8s.io"
    ws.send_binary(b"\x00hello\n")
    ws.send_binary(b"\xff\x00")  # v5: stdin is closed
    out = ws_collect(ws)
    ws.close()
    assert out.get(1) == b"hello\n"
    assert out.get(2) == b"err\n"
    assert status_exit_code(out[3]) == 3
    # the token was used: a second connection is refused
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        websocket.create_connection(ws_url(url), subprotocols=["v5.channel.k8s.io"], timeout=20)
    assert e.value.status_code == 404


def test_exec_spdy_tty_stdin_resize_and_exit_code(rt, api_pb, ctr):
    url = rt.Exec(api_pb.ExecRequest(container_id=ctr, cmd=["sh", "-c", "read x; echo got-$x; stty size; exit 7"],
                                     tty=True, stdin=True, stdout=True)).url
    c = SpdyConn(url, ["v4.channel.k8s.io", "v3.channel.k8s.io"])
    status, headers = c.upgrade()
    assert status == 101
    assert headers["x-stream-protocol-version"] == ["v4.channel.k8s.io"]
    err = c.open({"streamType": "error"})
    sin = c.open({"streamType": "stdin"})
    sout = c.open({"streamType": "stdout"})
    resize = c.open({"streamType": "resize"})
    assert c.pump(lambda: len(c.replied) == 4)
    c.send(resize, b'{"Width":101,"Height":33}\n')
    time.sleep(0.3)
    c.send(sin, b"hi\n")
    assert c.pump(lambda: err in c.fin and sout in c.fin), c.data
    out = c.data.get(sout, b"")
    assert b"got-hi" in out
    assert b"33 101" in out
    assert status_exit_code(c.data[err]) == 7
    assert c.pump(lambda: c.goaway)
    c.close()


def test_exec_spdy_without_tty_separates_stderr(rt, api_pb, ctr):
    url = rt.Exec(api_pb.ExecRequest(container_id=ctr, cmd=["sh", "-c", "echo o; echo e >&2"],
                                     stdout=True, stderr=True)).url
    c = SpdyConn(url, ["v5.channel.k8s.io"])
    assert c.upgrade()[0] == 101
    err, sout, serr = c.open({"streamType": "error"}), c.open({"streamType": "stdout"}), c.open({"streamType": "stderr"})
    assert c.pump(lambda: err in c.fin and sout in c.fin and serr in c.fin)
    assert (c.data.get(sout), c.data.get(serr)) == (b"o\n", b"e\n")
    assert status_exit_code(c.data[err]) == 0
    c.close()


def test_spdy_handshake_refusals(rt, api_pb, ctr):
    url = rt.Exec(api_pb.ExecRequest(container_id=ctr, cmd=["true"], stdout=True)).url
    c = SpdyConn(url, ["v9.channel.k8s.io"])
    status, headers = c.upgrade()
    assert status == 403
    assert "v4.channel.k8s.io" in headers["x-accepted-stream-protocol-versions"]
    c.close()
    c = SpdyConn(url.rsplit("/", 1)[0] + "/not-a-token", ["v4.channel.k8s.io"])
    assert c.upgrade()[0] == 404
    c.close()


def test_attach_websocket_relays_stdin_and_stdout(rt, api_pb, cat_ctr):
    url = rt.Attach(api_pb.AttachRequest(container_id=cat_ctr, stdin=True, stdout=True, stderr=True)).url
    ws = websocket.create_connection(ws_url(url), subprotocols=["v5.channel.k8s.io"], timeout=20)
    first = ws.recv_data()[1]
    assert first == b"\x01"  # the empty message on stdout: the session is up
    ws.send_binary(b"\x00ping-attach\n")
    got = b""
    deadline = time.monotonic() + 15
    while b"ping-attach\n" not in got and time.monotonic() < deadline:
        op, data = ws.recv_data()
        if data and data[0] == 1:
            got += data[1:]
    ws.close()
    assert b"ping-attach\n" in got


def test_port_forward_spdy_and_websocket(rt, api_pb, httpd_ctr):
    pod_id = httpd_ctr[0]
    # SPDY: one request id, an error and a data stream
    url = rt.PortForward(api_pb.PortForwardRequest(pod_sandbox_id=pod_id, port=[8080])).url
    c = SpdyConn(url, ["portforward.k8s.io"])
    status, headers = c.upgrade()
    assert status == 101 and headers["x-stream-protocol-version"] == ["portforward.k8s.io"]
    deadline = time.monotonic() + 10
    while True:  # httpd may still be starting
        err = c.open({"streamType": "error", "port": "8080", "requestID": str(c.next_id)})
        data = c.open({"streamType": "data", "port": "8080", "requestID": str(err)})
        assert c.pump(lambda: data in c.replied)
        c.send(data, b"GET /passwd HTTP/1.0\r\n\r\n")
        assert c.pump(lambda: data in c.fin and err in c.fin)
        if c.data.get(data) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert c.data[data].startswith(b"HTTP/1."), c.data
    assert b"root:" in c.data[data]
    c.close()
    # a port nobody listens on: the error stream says so
    url = rt.PortForward(api_pb.PortForwardRequest(pod_sandbox_id=pod_id, port=[8081])).url
    c = SpdyConn(url, ["portforward.k8s.io"])
    assert c.upgrade()[0] == 101
    err = c.open({"streamType": "error", "port": "8081", "requestID": "0"})
    data = c.open({"streamType": "data", "port": "8081", "requestID": "0"})
    assert c.pump(lambda: err in c.fin)
    msg = json.loads(c.data[err])
    assert "error forwarding port 8081" in msg["message"]
    c.close()
    # WebSocket (v4.channel.k8s.io): the request's ports, announced little-endian on both channels
    url = rt.PortForward(api_pb.PortForwardRequest(pod_sandbox_id=pod_id, port=[8080])).url
    ws = websocket.create_connection(ws_url(url), subprotocols=["v4.channel.k8s.io"], timeout=20)
    assert ws.recv_data()[1] == b"\x00\x90\x1f"
    assert ws.recv_data()[1] == b"\x01\x90\x1f"
    ws.send_binary(b"\x00GET /passwd HTTP/1.0\r\n\r\n")
    out = ws_collect(ws)
    ws.close()
    assert out[0].startswith(b"HTTP/1.") and b"root:" in out[0]


def test_port_forward_dials_inside_the_pod_netns(rt, api_pb, httpd_ctr, berth):
    # httpd listens in the pod's network namespace only; the forwarded
    # connection reached it there (/etc/hostname is the pod's).
    url = rt.PortForward(api_pb.PortForwardRequest(pod_sandbox_id=httpd_ctr[0], port=[8080])).url
    ws = websocket.create_connection(ws_url(url), subprotocols=["v4.channel.k8s.io"], timeout=20)
    ws.recv_data()
    ws.recv_data()
    ws.send_binary(b"\x00GET /hostname HTTP/1.0\r\n\r\n")
    out = ws_collect(ws)
    ws.close()
    assert b"streampod-host" in out[0], out
    # a stopped sandbox (or a Docker container's id) forwards nothing
    docker = berth("run", "-d", "busybox", "sleep", "60").stdout.strip()
    try:
        with pytest.raises(grpc.RpcError) as e:
            rt.PortForward(api_pb.PortForwardRequest(pod_sandbox_id=docker, port=[8080]))
        assert e.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        berth("rm", "-f", docker, check=False)
