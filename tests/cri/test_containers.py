"""CRI containers (runtime_containers.cpp, docs/cri-containers.md): the
lifecycle, exit codes and reasons, NotFound and idempotent stop/remove,
logs in the CRI format and their reopen after a rename, stats, resources
updated in the cgroup, run-as user, read-only root, capabilities, and
that `docker ps` / `berth ps` never show a CRI container."""

import os
import re
import subprocess
import time
import uuid

import grpc
import pytest

IMAGE = ""  # set by the cri_image fixture
CRI_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z (stdout|stderr) (F|P) (.*)$")


def wait_for(pred, timeout=15, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("timed out waiting")


@pytest.fixture(scope="module", autouse=True)
def cri_image(img, api_pb, cri_pull):
    """busybox in the CRI's image namespace (conftest's cri_pull); removed
    from the namespace at the end of the module."""
    global IMAGE
    IMAGE = cri_pull("cri-ctr/busybox:latest")
    yield IMAGE
    # the other modules see the CRI namespace as they left it
    img.RemoveImage(api_pb.RemoveImageRequest(image=api_pb.ImageSpec(image=IMAGE)))


@pytest.fixture(scope="module")
def pod(rt, api_pb, tmp_path_factory):
    """One pod sandbox for the module: (id, its PodSandboxConfig, its log directory)."""
    logdir = str(tmp_path_factory.mktemp("podlogs"))
    cfg = api_pb.PodSandboxConfig(
        metadata=api_pb.PodSandboxMetadata(name="ctrpod", uid=str(uuid.uuid4()), namespace="cri-ctr", attempt=0),
        hostname="ctrpod-host",
        log_directory=logdir,
    )
    pod_id = rt.RunPodSandbox(api_pb.RunPodSandboxRequest(config=cfg)).pod_sandbox_id
    yield pod_id, cfg, logdir
    rt.StopPodSandbox(api_pb.StopPodSandboxRequest(pod_sandbox_id=pod_id))
    rt.RemovePodSandbox(api_pb.RemovePodSandboxRequest(pod_sandbox_id=pod_id))


def make(rt, api_pb, pod, name, args, log=True, linux=None, labels=None, command=("sh", "-c"), **kw):
    pod_id, cfg, _ = pod
    c = api_pb.ContainerConfig(
        metadata=api_pb.ContainerMetadata(name=name),
        image=api_pb.ImageSpec(image=IMAGE),
        command=list(command),
        args=list(args),
        labels=labels or {},
        log_path=f"{name}/0.log" if log else "",
        linux=linux,
        **kw,
    )
    return rt.CreateContainer(api_pb.CreateContainerRequest(pod_sandbox_id=pod_id, config=c, sandbox_config=cfg)).container_id


def status(rt, api_pb, cid, verbose=False):
    return rt.ContainerStatus(api_pb.ContainerStatusRequest(container_id=cid, verbose=verbose))


def run_to_exit(rt, api_pb, cid):
    rt.StartContainer(api_pb.StartContainerRequest(container_id=cid))
    return wait_for(lambda: (s := status(rt, api_pb, cid).status).state == api_pb.CONTAINER_EXITED and s)


def log_lines(path):
    with open(path) as f:
        lines = f.read().splitlines()
    for ln in lines:
        assert CRI_LINE.match(ln), ln
    return [CRI_LINE.match(ln).group(2, 3, 4) for ln in lines]


def cleanup(rt, api_pb, *ids):
    for cid in ids:
        rt.RemoveContainer(api_pb.RemoveContainerRequest(container_id=cid))


def test_lifecycle_exit_codes_and_logs(rt, api_pb, pod):
    _, _, logdir = pod
    cid = make(rt, api_pb, pod, "fails", ["echo out; echo err >&2; exit 3"], labels={"tier": "a"},
               annotations={"note": "n1"})
    s = status(rt, api_pb, cid).status
    assert s.state == api_pb.CONTAINER_CREATED
    assert s.metadata.name == "fails" and s.created_at > 0 and s.started_at == 0
    assert s.labels == {"tier": "a"} and s.annotations == {"note": "n1"}
    # as containerd: the image's tag and repo digest, and its id
    assert s.image.image == IMAGE and s.image.user_specified_image == IMAGE
    assert s.image_ref.startswith(IMAGE.rsplit(":", 1)[0] + "@sha256:") and s.image_id.startswith("sha256:")
    assert s.log_path == os.path.join(logdir, "fails/0.log")
    s = run_to_exit(rt, api_pb, cid)
    assert s.exit_code == 3 and s.reason == "Error"
    assert s.created_at <= s.started_at <= s.finished_at
    lines = log_lines(s.log_path)
    assert ("stdout", "F", "out") in lines and ("stderr", "F", "err") in lines

    ok = make(rt, api_pb, pod, "succeeds", ["exit 0"], log=False)
    s = run_to_exit(rt, api_pb, ok)
    assert s.exit_code == 0 and s.reason == "Completed" and s.log_path == ""
    # an exited container cannot start again
    with pytest.raises(grpc.RpcError) as e:
        rt.StartContainer(api_pb.StartContainerRequest(container_id=ok))
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    cleanup(rt, api_pb, cid, ok)


def test_long_lines_are_split_into_partials(rt, api_pb, pod):
    cid = make(rt, api_pb, pod, "longline", ["head -c 20000 /dev/zero | tr '\\0' a; echo; printf tail"])
    s = run_to_exit(rt, api_pb, cid)
    lines = log_lines(s.log_path)
    assert lines[0] == ("stdout", "P", "a" * 16384)
    assert lines[1] == ("stdout", "F", "a" * (20000 - 16384))
    assert lines[2] == ("stdout", "F", "tail")
    cleanup(rt, api_pb, cid)


def test_not_found_and_idempotent_stop_remove(rt, api_pb, pod):
    missing = "f" * 64
    for call, req in ((rt.ContainerStatus, api_pb.ContainerStatusRequest(container_id=missing)),
                      (rt.StartContainer, api_pb.StartContainerRequest(container_id=missing)),
                      (rt.ContainerStats, api_pb.ContainerStatsRequest(container_id=missing))):
        with pytest.raises(grpc.RpcError) as e:
            call(req)
        assert e.value.code() == grpc.StatusCode.NOT_FOUND, call
    rt.RemoveContainer(api_pb.RemoveContainerRequest(container_id=missing))  # no error
    rt.StopContainer(api_pb.StopContainerRequest(container_id=missing, timeout=1))  # idempotent too

    cid = make(rt, api_pb, pod, "sleeper", ["sleep 1000"], log=False)
    rt.StopContainer(api_pb.StopContainerRequest(container_id=cid, timeout=1))  # never started: fine
    rt.StartContainer(api_pb.StartContainerRequest(container_id=cid))
    assert status(rt, api_pb, cid).status.state == api_pb.CONTAINER_RUNNING
    rt.StopContainer(api_pb.StopContainerRequest(container_id=cid, timeout=0))
    s = status(rt, api_pb, cid).status
    assert s.state == api_pb.CONTAINER_EXITED and s.exit_code == 137
    rt.StopContainer(api_pb.StopContainerRequest(container_id=cid, timeout=1))
    rt.RemoveContainer(api_pb.RemoveContainerRequest(container_id=cid))
    rt.RemoveContainer(api_pb.RemoveContainerRequest(container_id=cid))
    with pytest.raises(grpc.RpcError) as e:
        status(rt, api_pb, cid)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND

    # a running container is removed too (killed first)
    run = make(rt, api_pb, pod, "removed-running", ["sleep 1000"], log=False)
    rt.StartContainer(api_pb.StartContainerRequest(container_id=run))
    rt.RemoveContainer(api_pb.RemoveContainerRequest(container_id=run))
    assert not rt.ListContainers(api_pb.ListContainersRequest(filter=api_pb.ContainerFilter(id=run))).containers


def test_bad_input(rt, api_pb, pod):
    pod_id, cfg, _ = pod
    with pytest.raises(grpc.RpcError) as e:
        rt.CreateContainer(api_pb.CreateContainerRequest(pod_sandbox_id=pod_id, sandbox_config=cfg,
                                                         config=api_pb.ContainerConfig(image=api_pb.ImageSpec(image=IMAGE))))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as e:
        make(rt, api_pb, (("e" * 64), cfg, ""), "nosandbox", ["true"], log=False)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    # Docker's busybox:latest is not a name of the CRI's image namespace
    with pytest.raises(grpc.RpcError) as e:
        rt.CreateContainer(api_pb.CreateContainerRequest(pod_sandbox_id=pod_id, sandbox_config=cfg, config=api_pb.ContainerConfig(
            metadata=api_pb.ContainerMetadata(name="dockerimage"), image=api_pb.ImageSpec(image="busybox:latest"))))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as e:
        make(rt, api_pb, pod, "relmount", ["true"], log=False,
             mounts=[api_pb.Mount(container_path="/x", host_path="relative/dir")])
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as e:
        make(rt, api_pb, pod, "grouponly", ["true"], log=False, linux=api_pb.LinuxContainerConfig(
            security_context=api_pb.LinuxContainerSecurityContext(run_as_group=api_pb.Int64Value(value=5))))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # the same metadata twice in one pod: the name is taken
    first = make(rt, api_pb, pod, "twice", ["true"], log=False)
    with pytest.raises(grpc.RpcError):
        make(rt, api_pb, pod, "twice", ["true"], log=False)
    cleanup(rt, api_pb, first)


def test_list_filters(rt, api_pb, pod):
    pod_id = pod[0]
    a = make(rt, api_pb, pod, "list-a", ["sleep 1000"], log=False, labels={"grp": "l", "n": "a"})
    b = make(rt, api_pb, pod, "list-b", ["true"], log=False, labels={"grp": "l", "n": "b"})
    rt.StartContainer(api_pb.StartContainerRequest(container_id=a))

    def ids(**f):
        return {c.id for c in rt.ListContainers(api_pb.ListContainersRequest(filter=api_pb.ContainerFilter(**f))).containers}

    assert ids(label_selector={"grp": "l"}) == {a, b}
    assert ids(label_selector={"grp": "l", "n": "b"}) == {b}
    assert ids(label_selector={"grp": "l"}, state=api_pb.ContainerStateValue(state=api_pb.CONTAINER_RUNNING)) == {a}
    assert ids(label_selector={"grp": "l"}, state=api_pb.ContainerStateValue(state=api_pb.CONTAINER_CREATED)) == {b}
    assert ids(id=a[:12]) == {a}
    assert {a, b} <= ids(pod_sandbox_id=pod_id[:12])
    assert ids(pod_sandbox_id="0" * 64) == set()
    assert ids(id="0" * 64) == set()
    listed = {c.id: c for c in rt.ListContainers(api_pb.ListContainersRequest()).containers}
    assert listed[a].pod_sandbox_id == pod_id and listed[a].metadata.name == "list-a"
    assert pod_id not in listed  # the sandbox is not a container
    cleanup(rt, api_pb, a, b)


def test_reopen_after_rename(rt, api_pb, pod):
    cid = make(rt, api_pb, pod, "rotating", ["i=0; while true; do echo line$i; i=$((i+1)); sleep 0.05; done"])
    rt.StartContainer(api_pb.StartContainerRequest(container_id=cid))
    path = status(rt, api_pb, cid).status.log_path
    wait_for(lambda: os.path.exists(path) and len(log_lines(path)) >= 3)
    os.rename(path, path + ".1")
    rt.ReopenContainerLog(api_pb.ReopenContainerLogRequest(container_id=cid))
    assert os.path.exists(path)  # at once, as kubelet expects
    fresh = wait_for(lambda: os.path.exists(path) and len(log_lines(path)) >= 3 and log_lines(path))
    old = log_lines(path + ".1")
    n_old = [int(t[2][4:]) for t in old]
    n_new = [int(t[2][4:]) for t in fresh]
    assert n_old == list(range(len(n_old)))            # nothing lost, nothing twice
    assert n_new[0] == n_old[-1] + 1
    rt.StopContainer(api_pb.StopContainerRequest(container_id=cid, timeout=0))
    with pytest.raises(grpc.RpcError) as e:  # not running any more
        rt.ReopenContainerLog(api_pb.ReopenContainerLogRequest(container_id=cid))
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    cleanup(rt, api_pb, cid)


def test_stats(rt, api_pb, pod):
    cid = make(rt, api_pb, pod, "stats", ["head -c 200000 /dev/zero > /big; mkdir /d1 /d2; exec sleep 1000"],
               log=False)
    rt.StartContainer(api_pb.StartContainerRequest(container_id=cid))
    st = wait_for(lambda: (s := rt.ContainerStats(api_pb.ContainerStatsRequest(container_id=cid)).stats)
                  .writable_layer.used_bytes.value >= 200000 and s)
    assert st.attributes.id == cid and st.attributes.metadata.name == "stats"
    assert st.cpu.usage_core_nano_seconds.value > 0 and st.cpu.timestamp > 0
    assert st.memory.working_set_bytes.value > 0
    assert st.writable_layer.inodes_used.value >= 4  # the dir, /big, /d1, /d2
    listed = rt.ListContainerStats(api_pb.ListContainerStatsRequest(
        filter=api_pb.ContainerStatsFilter(id=cid[:12]))).stats
    assert [s.attributes.id for s in listed] == [cid]
    cleanup(rt, api_pb, cid)


def memory_limit_of(pid):
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if "memory" in ctrls.split(","):
                with open(f"/sys/fs/cgroup/memory{path}/memory.limit_in_bytes") as m:
                    return int(m.read())
            if ctrls == "" and os.path.exists(f"/sys/fs/cgroup{path}/memory.max"):
                with open(f"/sys/fs/cgroup{path}/memory.max") as m:
                    return int(m.read())
    raise AssertionError("no memory cgroup")


def test_update_resources_reach_the_cgroup(rt, api_pb, pod):
    import json
    res = api_pb.LinuxContainerResources(memory_limit_in_bytes=64 << 20, cpu_shares=512)
    cid = make(rt, api_pb, pod, "resources", ["sleep 1000"], log=False,
               linux=api_pb.LinuxContainerConfig(resources=res))
    rt.StartContainer(api_pb.StartContainerRequest(container_id=cid))
    st = status(rt, api_pb, cid, verbose=True)
    pid = json.loads(st.info["info"])["pid"]
    assert st.status.resources.linux.memory_limit_in_bytes == 64 << 20
    assert memory_limit_of(pid) == 64 << 20
    rt.UpdateContainerResources(api_pb.UpdateContainerResourcesRequest(
        container_id=cid, linux=api_pb.LinuxContainerResources(memory_limit_in_bytes=96 << 20)))
    assert memory_limit_of(pid) == 96 << 20
    assert status(rt, api_pb, cid).status.resources.linux.memory_limit_in_bytes == 96 << 20
    with pytest.raises(grpc.RpcError) as e:
        rt.UpdateContainerResources(api_pb.UpdateContainerResourcesRequest(container_id="f" * 64, linux=res))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    cleanup(rt, api_pb, cid)


def output_of(rt, api_pb, pod, name, script, sc):
    cid = make(rt, api_pb, pod, name, [script], linux=api_pb.LinuxContainerConfig(security_context=sc))
    s = run_to_exit(rt, api_pb, cid)
    out = [t[2] for t in log_lines(s.log_path) if t[0] == "stdout"]
    cleanup(rt, api_pb, cid)
    return s, out


def test_run_as_user_and_groups(rt, api_pb, pod):
    sc = api_pb.LinuxContainerSecurityContext(run_as_user=api_pb.Int64Value(value=1234),
                                              run_as_group=api_pb.Int64Value(value=5678),
                                              supplemental_groups=[4321])
    s, out = output_of(rt, api_pb, pod, "runas", "id -u; id -g; id -G", sc)
    assert out[:2] == ["1234", "5678"] and "4321" in out[2].split()
    assert s.user.linux.uid == 1234 and s.user.linux.gid == 5678


def test_readonly_rootfs(rt, api_pb, pod):
    sc = api_pb.LinuxContainerSecurityContext(readonly_rootfs=True)
    _, out = output_of(rt, api_pb, pod, "rofs", "touch /x 2>/dev/null; echo rc=$?", sc)
    assert out == ["rc=1"]
    _, out = output_of(rt, api_pb, pod, "rwfs", "touch /x; echo rc=$?", api_pb.LinuxContainerSecurityContext())
    assert out == ["rc=0"]


def test_capabilities(rt, api_pb, pod):
    caps = "grep CapEff /proc/self/status | cut -f2"
    sc = api_pb.LinuxContainerSecurityContext(capabilities=api_pb.Capability(drop_capabilities=["ALL"]))
    assert output_of(rt, api_pb, pod, "nocaps", caps, sc)[1] == ["0000000000000000"]
    sc = api_pb.LinuxContainerSecurityContext(capabilities=api_pb.Capability(drop_capabilities=["ALL"],
                                                                             add_capabilities=["NET_ADMIN"]))
    assert output_of(rt, api_pb, pod, "netadmin", caps, sc)[1] == ["0000000000001000"]


def test_masked_paths_as_given(rt, api_pb, pod):
    # none given: /proc/kcore is not masked (containerd's default); given: masked
    probe = "wc -c < /proc/timer_list | tr -d ' '"
    _, out = output_of(rt, api_pb, pod, "unmasked", probe, api_pb.LinuxContainerSecurityContext())
    assert int(out[0]) > 0
    sc = api_pb.LinuxContainerSecurityContext(masked_paths=["/proc/timer_list"])
    _, out = output_of(rt, api_pb, pod, "masked", probe, sc)
    assert out == ["0"]


def test_docker_ps_does_not_show_cri_containers(rt, api_pb, pod, berth):
    env = dict(os.environ, DOCKER_HOST="unix://" + os.environ["BERTH_CRI_DOCKER_SOCK"])

    def docker_count():
        p = subprocess.run(["/usr/local/bin/docker", "info", "--format", "{{.Containers}} {{.ContainersRunning}}"],
                           capture_output=True, text=True, timeout=60, env=env)
        assert p.returncode == 0, p.stderr
        return p.stdout.strip()

    before = docker_count()
    cid = make(rt, api_pb, pod, "hidden", ["sleep 1000"], log=False)
    rt.StartContainer(api_pb.StartContainerRequest(container_id=cid))
    out = berth("ps", "-a", "--no-trunc", "--format", "{{.ID}}").stdout
    assert cid not in out and pod[0] not in out
    assert docker_count() == before  # docker info counts Docker's namespace only
    docker = subprocess.run(["/usr/local/bin/docker", "ps", "-a", "--no-trunc", "--format", "{{.ID}}"],
                            capture_output=True, text=True, timeout=60, env=env)
    assert docker.returncode == 0, docker.stderr
    assert cid not in docker.stdout and pod[0] not in docker.stdout
    # and the CRI does not list Docker API containers
    made = berth("create", "busybox:latest", "true").stdout.strip()
    listed = {c.id for c in rt.ListContainers(api_pb.ListContainersRequest()).containers}
    assert cid in listed and made not in listed
    berth("rm", made)
    cleanup(rt, api_pb, cid)


def test_mount_propagation(rt, api_pb, pod, tmp_path):
    """HOST_TO_CONTAINER sees what the host mounts under the bind later;
    PRIVATE does not. The source is made a shared mount of its own."""
    import json
    src = tmp_path / "prop"
    src.mkdir()
    subprocess.run(["mount", "--bind", str(src), str(src)], check=True)
    ids = []
    try:
        subprocess.run(["mount", "--make-rshared", str(src)], check=True)
        for name, prop in (("prop-slave", api_pb.PROPAGATION_HOST_TO_CONTAINER),
                           ("prop-private", api_pb.PROPAGATION_PRIVATE)):
            ids.append(make(rt, api_pb, pod, name, ["sleep 1000"], log=False, mounts=[
                api_pb.Mount(container_path="/mnt", host_path=str(src), propagation=prop)]))
            rt.StartContainer(api_pb.StartContainerRequest(container_id=ids[-1]))
        (src / "sub").mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(src / "sub")], check=True)
        (src / "sub" / "marker").write_text("x")
        slave, private = (json.loads(status(rt, api_pb, c, verbose=True).info["info"])["pid"] for c in ids)
        assert os.path.exists(f"/proc/{slave}/root/mnt/sub/marker")
        assert os.path.isdir(f"/proc/{private}/root/mnt/sub")
        assert not os.path.exists(f"/proc/{private}/root/mnt/sub/marker")
        m = status(rt, api_pb, ids[0]).status.mounts
        assert [(x.container_path, x.host_path, x.propagation) for x in m] == [
            ("/mnt", str(src), api_pb.PROPAGATION_HOST_TO_CONTAINER)]
    finally:
        cleanup(rt, api_pb, *ids)
        subprocess.run(["umount", "-R", "-l", str(src)])


def test_mount_propagation_bidirectional(rt, api_pb, pod, tmp_path):
    """BIDIRECTIONAL: a mount the container makes under the bind reaches the
    host (and the host's reaches the container); the container's own
    rootfs mounts do not appear on the host."""
    import json
    src = tmp_path / "bidi"
    src.mkdir()
    subprocess.run(["mount", "--bind", str(src), str(src)], check=True)
    ids = []
    try:
        subprocess.run(["mount", "--make-rshared", str(src)], check=True)
        before = open("/proc/self/mountinfo").read().count("\n")
        ids.append(make(rt, api_pb, pod, "prop-bidi",
                        ["mkdir -p /mnt/in && mount -t tmpfs tmpfs /mnt/in && echo y > /mnt/in/marker && sleep 1000"],
                        log=False, linux=api_pb.LinuxContainerConfig(security_context=api_pb.LinuxContainerSecurityContext(
                            capabilities=api_pb.Capability(add_capabilities=["SYS_ADMIN"]))), mounts=[
                            api_pb.Mount(container_path="/mnt", host_path=str(src),
                                         propagation=api_pb.PROPAGATION_BIDIRECTIONAL)]))
        rt.StartContainer(api_pb.StartContainerRequest(container_id=ids[-1]))
        deadline = time.time() + 10
        while not (src / "in" / "marker").exists() and time.time() < deadline:
            time.sleep(0.1)
        assert (src / "in" / "marker").read_text() == "y\n"  # container -> host
        (src / "host").mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(src / "host")], check=True)
        (src / "host" / "m").write_text("h")
        pid = json.loads(status(rt, api_pb, ids[0], verbose=True).info["info"])["pid"]
        assert os.path.exists(f"/proc/{pid}/root/mnt/host/m")  # host -> container
        # only the two tmpfs mounts under the bind reached the host
        assert open("/proc/self/mountinfo").read().count("\n") == before + 2
    finally:
        cleanup(rt, api_pb, *ids)
        subprocess.run(["umount", "-R", "-l", str(src)])


def test_cri_log_driver_is_not_offered_to_the_docker_api(berth):
    p = berth("create", "--log-driver", "cri-log", "--log-opt", "path=/tmp/x.log", "busybox:latest", "true",
              check=False)
    assert p.returncode != 0 and "no log driver named 'cri-log'" in p.stderr


def restart_berthd():
    helpers = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e", "helpers.bash")
    subprocess.run(["bash", "-c", f"source {helpers} && berthd_kill9 && berthd_start"], check=True, timeout=60,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)


def test_containers_survive_berthd_sigkill(rt, api_pb, pod):
    import json
    live = make(rt, api_pb, pod, "survivor", ["i=0; while true; do echo n$i; i=$((i+1)); sleep 0.05; done"],
                labels={"suite": "sigkill"})
    done = make(rt, api_pb, pod, "finished", ["exit 7"], log=False, labels={"suite": "sigkill"})
    rt.StartContainer(api_pb.StartContainerRequest(container_id=live))
    run_to_exit(rt, api_pb, done)
    pid = json.loads(status(rt, api_pb, live, verbose=True).info["info"])["pid"]
    path = status(rt, api_pb, live).status.log_path

    restart_berthd()

    def listed():
        try:
            return {c.id: c.state for c in rt.ListContainers(api_pb.ListContainersRequest(
                filter=api_pb.ContainerFilter(label_selector={"suite": "sigkill"}))).containers}
        except grpc.RpcError:
            return None
    assert wait_for(listed, timeout=20, step=0.2) == {live: api_pb.CONTAINER_RUNNING, done: api_pb.CONTAINER_EXITED}
    assert status(rt, api_pb, done).status.exit_code == 7
    assert json.loads(status(rt, api_pb, live, verbose=True).info["info"])["pid"] == pid  # never restarted
    # the monitor kept logging, and the restarted berthd reaches it for a reopen
    n = len(log_lines(path))
    wait_for(lambda: len(log_lines(path)) > n + 2)
    os.rename(path, path + ".1")
    rt.ReopenContainerLog(api_pb.ReopenContainerLogRequest(container_id=live))
    wait_for(lambda: os.path.exists(path) and len(log_lines(path)) >= 2)
    rt.StopContainer(api_pb.StopContainerRequest(container_id=live, timeout=0))
    assert status(rt, api_pb, live).status.state == api_pb.CONTAINER_EXITED
    cleanup(rt, api_pb, live, done)
