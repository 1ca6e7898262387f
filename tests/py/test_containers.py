"""Containers through docker-py: run, create/start/wait, logs, exec and
attach streams with and without a tty, attach with logs, kill, detach keys."""

import os
import select
import socket
import time

import docker
import pytest

IMAGE = "busybox:latest"


def wait_for(what, predicate, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def read_until_closed(sock, timeout=10.0):
    """Reads a raw hijacked socket until the daemon closes it."""
    raw = getattr(sock, "_sock", sock)
    data = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([raw], [], [], 0.2)
        if not r:
            continue
        chunk = raw.recv(65536)
        if not chunk:
            return data
        data += chunk
    raise AssertionError(f"the stream stayed open; read so far: {data!r}")


@pytest.fixture
def sleeper(client, names):
    c = client.containers.run(IMAGE, ["sleep", "300"], name=names("sleep"), detach=True)
    wait_for("the container to run", lambda: (c.reload() or c.status) == "running")
    return c


def test_run_returns_output(client, names):
    out = client.containers.run(IMAGE, ["sh", "-c", "echo out; echo err >&2"], name=names("run"),
                                stderr=True)
    # docker-py reads the logs: stdout and stderr both, in order
    assert out == b"out\nerr\n"


def test_run_failure_raises_container_error(client, names):
    with pytest.raises(docker.errors.ContainerError) as e:
        client.containers.run(IMAGE, ["sh", "-c", "echo boom >&2; exit 3"], name=names("fail"))
    assert e.value.exit_status == 3
    assert b"boom" in e.value.stderr


def test_create_start_wait_logs(client, names):
    c = client.containers.create(IMAGE, ["sh", "-c", "echo one; echo two >&2; exit 5"], name=names("cw"))
    assert c.status == "created"
    c.start()
    assert c.wait(timeout=30)["StatusCode"] == 5
    assert c.logs(stdout=True, stderr=False) == b"one\n"
    assert c.logs(stdout=False, stderr=True) == b"two\n"
    c.reload()
    assert c.attrs["State"]["ExitCode"] == 5


def test_tty_container_logs_are_raw(client, names):
    c = client.containers.run(IMAGE, ["echo", "tty"], name=names("tty"), tty=True, detach=True)
    assert c.wait(timeout=30)["StatusCode"] == 0
    assert c.logs() == b"tty\r\n"


def test_exec_without_tty_is_multiplexed(sleeper):
    r = sleeper.exec_run(["sh", "-c", "echo out; echo err >&2"], demux=True)
    assert r.exit_code == 0
    assert r.output == (b"out\n", b"err\n")


def test_exec_with_tty(sleeper):
    r = sleeper.exec_run(["echo", "hello"], tty=True)
    assert r.exit_code == 0
    assert r.output == b"hello\r\n"


def test_exec_created_with_tty_started_without_is_multiplexed(api, sleeper):
    # docker-py's exec_start defaults to tty=False: dockerd frames the
    # stream by the start request, so the first bytes are a frame header
    # that docker-py consumes, never the output itself.
    eid = api.exec_create(sleeper.id, ["echo", "hello"], tty=True)["Id"]
    assert api.exec_start(eid) == b"hello\r\n"
    assert api.exec_inspect(eid)["ExitCode"] == 0
    # demux works because the stream is multiplexed: all of a pty's output is stdout
    eid = api.exec_create(sleeper.id, ["sh", "-c", "echo x >&2"], tty=True)["Id"]
    assert api.exec_start(eid, demux=True) == (b"x\r\n", None)


def test_exec_missing_executable(api, sleeper):
    eid = api.exec_create(sleeper.id, ["/no/such/binary"])["Id"]
    out = api.exec_start(eid)
    assert b"OCI runtime exec failed" in out
    assert b"no such file or directory" in out
    info = api.exec_inspect(eid)
    assert info["Running"] is False
    assert info["ExitCode"] == 127


def test_exec_exit_code(sleeper):
    assert sleeper.exec_run(["sh", "-c", "exit 7"]).exit_code == 7


def test_attach_streams(client, api, names):
    c = client.containers.create(IMAGE, ["sh", "-c", "sleep 0.3; echo out; echo err >&2"], name=names("att"))
    sock = api.attach_socket(c.id, params={"stdout": 1, "stderr": 1, "stream": 1})
    c.start()
    data = read_until_closed(sock)
    sock.close()
    # multiplexed: stream 1 "out\n", stream 2 "err\n"
    assert data == b"\x01\x00\x00\x00\x00\x00\x00\x04out\n\x02\x00\x00\x00\x00\x00\x00\x04err\n"
    assert c.wait(timeout=30)["StatusCode"] == 0


@pytest.fixture
def quick_api():
    """A low-level client with a short timeout: an attach that should return
    but does not fails the test in seconds instead of hanging it."""
    c = docker.APIClient(base_url="unix://" + os.environ["BERTH_PY_SOCK"], version="auto", timeout=10)
    yield c
    c.close()


def test_attach_logs_of_an_exited_container(client, quick_api, names):
    c = client.containers.run(IMAGE, ["sh", "-c", "echo out; echo err >&2"], name=names("al"), detach=True)
    assert c.wait(timeout=30)["StatusCode"] == 0
    # container.attach(logs=True, stream=False): the log replayed, then the stream ends
    assert c.attach(logs=True, stream=False) == b"out\nerr\n"
    assert quick_api.attach(c.id, stdout=True, stderr=False, logs=True) == b"out\n"
    assert quick_api.attach(c.id, stdout=False, stderr=True, logs=True) == b"err\n"
    # stream=0 without logs: nothing, at once
    assert quick_api.attach(c.id, logs=False, stream=False) == b""


def test_attach_logs_raw_frames_and_tty(client, api, names):
    c = client.containers.run(IMAGE, ["sh", "-c", "echo out; echo err >&2"], name=names("alf"), detach=True)
    assert c.wait(timeout=30)["StatusCode"] == 0
    sock = api.attach_socket(c.id, params={"stdout": 1, "stderr": 1, "logs": 1, "stream": 0})
    data = read_until_closed(sock)
    sock.close()
    assert data == b"\x01\x00\x00\x00\x00\x00\x00\x04out\n\x02\x00\x00\x00\x00\x00\x00\x04err\n"
    t = client.containers.run(IMAGE, ["echo", "tty"], name=names("alt"), detach=True, tty=True)
    assert t.wait(timeout=30)["StatusCode"] == 0
    assert t.attach(logs=True, stream=False) == b"tty\r\n"  # a tty's log is raw, no frames


def test_attach_logs_of_the_none_driver(client, quick_api, names):
    c = client.containers.run(IMAGE, ["echo", "x"], name=names("aln"), detach=True,
                              log_config=docker.types.LogConfig(type="none"))
    assert c.wait(timeout=30)["StatusCode"] == 0
    out = quick_api.attach(c.id, logs=True)
    assert out == b"Error attaching: configured logging driver does not support reading\n"


def test_attach_logs_then_live(client, api, names):
    c = client.containers.run(IMAGE, ["sh", "-c", "echo first; while [ ! -f /go ]; do sleep 0.05; done; echo second"],
                              name=names("all"), detach=True)
    wait_for("the first line", lambda: c.logs() == b"first\n")
    sock = api.attach_socket(c.id, params={"stdout": 1, "stderr": 1, "logs": 1, "stream": 1})
    raw = getattr(sock, "_sock", sock)
    data = b""
    end = time.monotonic() + 10
    while b"first" not in data and time.monotonic() < end:
        r, _, _ = select.select([raw], [], [], 0.2)
        if r:
            data += raw.recv(4096)
    assert data == b"\x01\x00\x00\x00\x00\x00\x00\x06first\n"
    # the replay is done; is the session attached live? It sees what comes next.
    wait_for("the attach event", lambda: any(
        e["Action"] == "attach" for e in client.events(since=0, until=int(time.time()) + 1, decode=True,
                                                      filters={"container": c.id, "event": "attach"})))
    assert c.exec_run(["touch", "/go"]).exit_code == 0
    data += read_until_closed(sock)
    sock.close()
    assert data == b"\x01\x00\x00\x00\x00\x00\x00\x06first\n\x01\x00\x00\x00\x00\x00\x00\x07second\n"


def test_attach_to_a_paused_container_conflicts(client, quick_api, sleeper):
    sleeper.pause()
    try:
        with pytest.raises(docker.errors.APIError) as e:
            quick_api.attach(sleeper.id, logs=True, stream=True)
        assert e.value.status_code == 409
        assert "is paused, unpause the container before attach" in str(e.value)
    finally:
        sleeper.unpause()


def test_kill_and_wait(client, sleeper):
    sleeper.kill()
    assert sleeper.wait(timeout=30)["StatusCode"] == 137
    sleeper.reload()
    assert sleeper.status == "exited"


def test_kill_with_signal(client, names):
    c = client.containers.run(IMAGE, ["sh", "-c", "trap 'exit 42' USR1; touch /ready; while true; do sleep 0.1; done"],
                              name=names("sig"), detach=True)
    wait_for("the trap to be set", lambda: c.exec_run(["test", "-f", "/ready"]).exit_code == 0)
    c.kill(signal="SIGUSR1")
    assert c.wait(timeout=30)["StatusCode"] == 42


def test_kill_stopped_container_conflicts(client, names):
    c = client.containers.create(IMAGE, ["true"], name=names("ks"))
    with pytest.raises(docker.errors.APIError) as e:
        c.kill()
    assert e.value.status_code == 409
    assert "is not running" in str(e.value)


def test_exec_detach_keys(api, sleeper):
    # docker-py sends "detachKeys" (camel case): the decoder matches it as Go does.
    eid = api.exec_create(sleeper.id, ["cat"], stdin=True, tty=True, detach_keys="ctrl-x")["Id"]
    assert api.exec_inspect(eid)["DetachKeys"] == "ctrl-x"
    sock = api.exec_start(eid, tty=True, socket=True)
    raw = getattr(sock, "_sock", sock)
    raw.sendall(b"abc\n")
    echoed = b""
    end = time.monotonic() + 10
    while b"abc" not in echoed and time.monotonic() < end:
        r, _, _ = select.select([raw], [], [], 0.2)
        if r:
            echoed += raw.recv(4096)
    assert b"abc" in echoed
    raw.sendall(b"\x18")  # ctrl-x: the daemon ends the stream, the process keeps running
    read_until_closed(sock)
    sock.close()
    assert api.exec_inspect(eid)["Running"] is True


def test_attach_detach_keys(client, api, names):
    c = client.containers.run(IMAGE, ["cat"], name=names("dk"), detach=True, stdin_open=True, tty=True)
    wait_for("the container to run", lambda: (c.reload() or c.status) == "running")
    sock = api.attach_socket(c.id, params={"stdin": 1, "stdout": 1, "stream": 1, "detachKeys": "ctrl-p"})
    raw = getattr(sock, "_sock", sock)
    raw.sendall(b"\x10")  # a single key as the sequence
    read_until_closed(sock)
    sock.close()
    c.reload()
    assert c.status == "running"


def test_annotations_round_trip(client, api, names):
    # API 1.43: HostConfig.Annotations
    hc = api.create_host_config()
    hc["Annotations"] = {"org.example.py": "yes"}
    c = api.create_container(IMAGE, ["true"], name=names("ann"), host_config=hc)
    assert api.inspect_container(c["Id"])["HostConfig"]["Annotations"] == {"org.example.py": "yes"}
    listed = api.containers(all=True, filters={"id": c["Id"]})
    assert listed[0]["HostConfig"]["Annotations"] == {"org.example.py": "yes"}


def test_ps_name_filter_is_a_regexp(client, names):
    n = names("re")
    client.containers.create(IMAGE, ["true"], name=n)
    client.containers.create(IMAGE, ["true"], name=n + "x")
    assert [c.name for c in client.containers.list(all=True, filters={"name": "^" + n + "$"})] == [n]
    assert [c.name for c in client.containers.list(all=True, filters={"name": "^/" + n + "$"})] == [n]
    assert sorted(c.name for c in client.containers.list(all=True, filters={"name": n})) == [n, n + "x"]
    client.containers.get(n + "x").remove()
