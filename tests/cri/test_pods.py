"""Pod sandboxes over the CRI (runtime_pods.cpp, cri/pods.h, cri/cni.h):
lifecycle, idempotent stop/remove and NotFound, filters, namespaces
(hostNetwork, PID), DNS config, cgroup parent, stats, pod IPs from a real
CNI bridge conflist (Debian's bridge + host-local, this area's octet 222)
and sandboxes surviving a SIGKILL of berthd.

The bridge conflist is written into run.sh's CNI conf dir only for the
tests that use it and removed after; its bridge (cni-b222<hex>) is listed
in $E2E_ROOT/net-links so the harness removes it even when a test fails,
and host-local's state lives in a temp dir."""

import json
import os
import random
import re
import shutil
import subprocess
import tempfile
import time
import uuid

import grpc
import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _config(pb, name, labels=None, **kw):
    meta = pb.PodSandboxMetadata(name=name, uid=str(uuid.uuid4()), namespace="berth-test", attempt=kw.pop("attempt", 0))
    linux = kw.pop("linux", None) or pb.LinuxPodSandboxConfig()
    return pb.PodSandboxConfig(metadata=meta, labels=labels or {}, linux=linux, **kw)


def _run(rt, pb, config, handler=""):
    return rt.RunPodSandbox(pb.RunPodSandboxRequest(config=config, runtime_handler=handler)).pod_sandbox_id


def _status(rt, pb, sid, verbose=False):
    return rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=sid, verbose=verbose))


def _pid(rt, pb, sid):
    info = json.loads(_status(rt, pb, sid, verbose=True).info["info"])
    return int(info["pid"])


def _code(fn):
    with pytest.raises(grpc.RpcError) as e:
        fn()
    return e.value.code(), e.value.details()


@pytest.fixture
def pods(rt, api_pb):
    """Sandboxes made by a test; removed afterwards whatever happened."""
    made = []
    yield made
    for sid in made:
        try:
            rt.RemovePodSandbox(api_pb.RemovePodSandboxRequest(pod_sandbox_id=sid))
        except grpc.RpcError:
            pass


@pytest.fixture
def bridge_net(e2e_root):
    """A bridge + host-local conflist in the CNI conf dir (isGateway and
    ipMasq off: no address on the bridge, no iptables rule, ip_forward left
    alone). Yields (subnet prefix, bridge name, ipam dir)."""
    conf_dir = os.environ["BERTH_CRI_CNI_DIR"]
    r = random.randrange(4096)
    bridge = "cni-b222%x" % r
    third = random.randrange(1, 250)
    prefix = "10.222.%d." % third
    ipam = tempfile.mkdtemp(prefix="cri-ipam.", dir=os.environ.get("BERTH_E2E_TMP", "/tmp"))
    with open(os.path.join(e2e_root, "net-links"), "a") as f:
        f.write(bridge + "\n")
    conf = {"cniVersion": "1.0.0", "name": "pods222", "plugins": [
        {"type": "bridge", "bridge": bridge, "isGateway": False, "ipMasq": False,
         "ipam": {"type": "host-local", "dataDir": ipam, "ranges": [[{"subnet": prefix + "0/24"}]]}}]}
    path = os.path.join(conf_dir, "10-pods222.conflist")
    with open(path, "w") as f:
        json.dump(conf, f)
    try:
        yield prefix, bridge, ipam
    finally:
        os.unlink(path)
        subprocess.run(["ip", "link", "del", bridge], capture_output=True)
        shutil.rmtree(ipam, ignore_errors=True)


def _netns_dir(e2e_root):
    return os.path.join(e2e_root, "exec", "cri", "netns")


def _pin(rt, pb, sid, e2e_root):
    """The sandbox's pinned network namespace (verbose info "netns"): made
    before the pause, named cni-<32 hex> as containerd names its own."""
    path = json.loads(_status(rt, pb, sid, verbose=True).info["info"])["netns"]
    assert os.path.dirname(path) == _netns_dir(e2e_root)
    assert re.fullmatch(r"cni-[0-9a-f]{32}", os.path.basename(path)), path
    return path


def _ns_addrs(pid):
    out = subprocess.run(["nsenter", "-t", str(pid), "-n", "ip", "-o", "-4", "addr", "show"],
                         capture_output=True, text=True, check=True).stdout
    return [(line.split()[1], line.split()[3].split("/")[0]) for line in out.splitlines()]


def test_lifecycle_and_idempotent_stop_remove(rt, api_pb, pods, berth):
    pb = api_pb
    before = time.time_ns()
    ns = pb.NamespaceOption(pid=pb.CONTAINER)
    linux = pb.LinuxPodSandboxConfig(security_context=pb.LinuxSandboxSecurityContext(namespace_options=ns))
    cfg = _config(pb, "life", labels={"app": "life"}, annotations={"note": "x"}, hostname="life-host", linux=linux)
    sid = _run(rt, pb, cfg)
    pods.append(sid)
    assert len(sid) == 64
    st = _status(rt, pb, sid).status
    assert st.id == sid
    assert st.state == pb.SANDBOX_READY
    assert before <= st.created_at <= time.time_ns()
    assert st.metadata.name == "life" and st.metadata.namespace == "berth-test"
    assert st.metadata.uid == cfg.metadata.uid
    assert dict(st.labels) == {"app": "life"}
    assert dict(st.annotations) == {"note": "x"}
    opts = st.linux.namespaces.options
    assert (opts.network, opts.pid, opts.ipc) == (pb.POD, pb.CONTAINER, pb.POD)
    assert st.network.ip == ""  # no CNI config: only lo

    # The pause process: berth-pause, own PID namespace (PID 1 inside), the hostname.
    pid = _pid(rt, pb, sid)
    assert os.readlink(f"/proc/{pid}/exe").endswith("/pause")
    nspid = [l for l in open(f"/proc/{pid}/status") if l.startswith("NSpid:")][0].split()[1:]
    assert len(nspid) == 2 and nspid[-1] == "1"
    uts = subprocess.run(["nsenter", "-t", str(pid), "-u", "hostname"], capture_output=True, text=True).stdout.strip()
    assert uts == "life-host"
    assert _ns_addrs(pid) == [("lo", "127.0.0.1")]
    # Separation: neither the pause container nor its image is Docker's.
    assert sid not in berth("ps", "-a", "-q", "--no-trunc").stdout
    assert "pause" not in berth("images", "-a").stdout

    rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sid))
    assert _status(rt, pb, sid).status.state == pb.SANDBOX_NOTREADY
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sid))  # again: fine
    rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=sid))
    code, _ = _code(lambda: _status(rt, pb, sid))
    assert code == grpc.StatusCode.NOT_FOUND
    assert sid not in [p.id for p in rt.ListPodSandbox(pb.ListPodSandboxRequest()).items]
    rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=sid))  # again: fine


def test_remove_of_a_running_sandbox_stops_it(rt, api_pb, pods, e2e_root):
    pb = api_pb
    sid = _run(rt, pb, _config(pb, "rm-running"))
    pods.append(sid)
    pid = _pid(rt, pb, sid)
    pin = _pin(rt, pb, sid, e2e_root)
    # The pause joined the pinned namespace (it did not make its own).
    assert os.stat(pin).st_ino == os.stat(f"/proc/{pid}/ns/net").st_ino
    rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=sid))
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    assert not os.path.exists(pin)  # the pinned netns is gone
    code, _ = _code(lambda: _status(rt, pb, sid))
    assert code == grpc.StatusCode.NOT_FOUND


def test_unknown_ids_and_bad_configs(rt, api_pb, pods):
    pb = api_pb
    unknown = "f" * 64
    for call in (lambda: _status(rt, pb, unknown),
                 lambda: rt.PodSandboxStats(pb.PodSandboxStatsRequest(pod_sandbox_id=unknown))):
        code, details = _code(call)
        assert code == grpc.StatusCode.NOT_FOUND
        assert "not found" in details
    rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=unknown))  # stopping nothing succeeds
    rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=unknown))  # removing nothing succeeds
    # No metadata at all, or an incomplete one.
    code, _ = _code(lambda: rt.RunPodSandbox(pb.RunPodSandboxRequest(config=pb.PodSandboxConfig())))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    bad = pb.PodSandboxConfig(metadata=pb.PodSandboxMetadata(name="x"))
    code, _ = _code(lambda: rt.RunPodSandbox(pb.RunPodSandboxRequest(config=bad)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    # The same metadata twice: refused, the first one untouched.
    cfg = _config(pb, "twice")
    sid = _run(rt, pb, cfg)
    pods.append(sid)
    n = len(rt.ListPodSandbox(pb.ListPodSandboxRequest()).items)
    code, details = _code(lambda: _run(rt, pb, cfg))
    assert "reserved" in details
    assert len(rt.ListPodSandbox(pb.ListPodSandboxRequest()).items) == n
    assert _status(rt, pb, sid).status.state == pb.SANDBOX_READY


def test_list_filters(rt, api_pb, pods):
    pb = api_pb
    a = _run(rt, pb, _config(pb, "fa", labels={"suite": "filters", "tier": "a"}))
    pods.append(a)
    b = _run(rt, pb, _config(pb, "fb", labels={"suite": "filters", "tier": "b"}))
    pods.append(b)
    rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=b))

    def ids(**f):
        return sorted(p.id for p in rt.ListPodSandbox(pb.ListPodSandboxRequest(filter=pb.PodSandboxFilter(**f))).items)

    assert ids(label_selector={"suite": "filters"}) == sorted([a, b])
    assert ids(label_selector={"suite": "filters", "tier": "b"}) == [b]
    assert ids(label_selector={"suite": "nothing"}) == []
    assert ids(id=a[:12]) == [a]
    assert ids(id=a) == [a]
    ready = pb.PodSandboxStateValue(state=pb.SANDBOX_READY)
    notready = pb.PodSandboxStateValue(state=pb.SANDBOX_NOTREADY)
    assert ids(label_selector={"suite": "filters"}, state=ready) == [a]
    assert ids(label_selector={"suite": "filters"}, state=notready) == [b]
    items = {p.id: p for p in rt.ListPodSandbox(pb.ListPodSandboxRequest()).items}
    assert items[a].metadata.name == "fa" and items[a].state == pb.SANDBOX_READY
    assert items[b].state == pb.SANDBOX_NOTREADY
    assert dict(items[a].labels) == {"suite": "filters", "tier": "a"}


def test_host_network_and_pid(rt, api_pb, pods):
    pb = api_pb
    ns = pb.NamespaceOption(network=pb.NODE, pid=pb.NODE, ipc=pb.NODE)
    linux = pb.LinuxPodSandboxConfig(security_context=pb.LinuxSandboxSecurityContext(namespace_options=ns))
    sid = _run(rt, pb, _config(pb, "hostnet", linux=linux))
    pods.append(sid)
    st = _status(rt, pb, sid).status
    assert st.state == pb.SANDBOX_READY
    o = st.linux.namespaces.options
    assert (o.network, o.pid, o.ipc) == (pb.NODE, pb.NODE, pb.NODE)
    pid = _pid(rt, pb, sid)
    for kind in ("net", "pid", "ipc", "uts"):
        assert os.readlink(f"/proc/{pid}/ns/{kind}") == os.readlink(f"/proc/self/ns/{kind}"), kind
    rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sid))
    assert _status(rt, pb, sid).status.state == pb.SANDBOX_NOTREADY


def test_pod_pid_namespace_and_cgroup_parent(rt, api_pb, pods, e2e_root):
    pb = api_pb
    cgp = open(os.path.join(e2e_root, "cgroup-parent")).read().strip() + "/pod-" + uuid.uuid4().hex[:8]
    ns = pb.NamespaceOption(pid=pb.POD)
    linux = pb.LinuxPodSandboxConfig(cgroup_parent="/" + cgp,
                                     security_context=pb.LinuxSandboxSecurityContext(namespace_options=ns),
                                     sysctls={"net.ipv4.ip_unprivileged_port_start": "80"})
    sid = _run(rt, pb, _config(pb, "podpid", linux=linux))
    pods.append(sid)
    assert _status(rt, pb, sid).status.linux.namespaces.options.pid == pb.POD
    pid = _pid(rt, pb, sid)
    nspid = [l for l in open(f"/proc/{pid}/status") if l.startswith("NSpid:")][0].split()[1:]
    assert nspid[-1] == "1"  # the pause is PID 1 of the pod's namespace
    cg = open(f"/proc/{pid}/cgroup").read()
    assert f"/{cgp}/{sid}" in cg
    val = subprocess.run(["nsenter", "-t", str(pid), "-n", "cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start"],
                         capture_output=True, text=True).stdout.strip()
    assert val == "80"


def test_dns_config_in_resolv_conf(rt, api_pb, pods):
    pb = api_pb
    dns = pb.DNSConfig(servers=["10.222.0.10", "10.222.0.11"], searches=["svc.cluster.local", "cluster.local"],
                       options=["ndots:5", "timeout:2"])
    sid = _run(rt, pb, _config(pb, "dns", dns_config=dns))
    pods.append(sid)
    pid = _pid(rt, pb, sid)
    text = open(f"/proc/{pid}/root/etc/resolv.conf").read()
    assert text == ("search svc.cluster.local cluster.local\nnameserver 10.222.0.10\nnameserver 10.222.0.11\n"
                    "options ndots:5 timeout:2\n")


def test_stats(rt, api_pb, pods):
    pb = api_pb
    sid = _run(rt, pb, _config(pb, "stats", labels={"suite": "stats"}))
    pods.append(sid)
    s = rt.PodSandboxStats(pb.PodSandboxStatsRequest(pod_sandbox_id=sid)).stats
    assert s.attributes.id == sid
    assert s.attributes.metadata.name == "stats"
    assert dict(s.attributes.labels) == {"suite": "stats"}
    assert s.linux.cpu.timestamp > 0
    assert s.linux.memory.usage_bytes.value > 0
    assert s.linux.memory.working_set_bytes.value <= s.linux.memory.usage_bytes.value
    assert s.linux.process.process_count.value == 1  # the pause alone
    listed = rt.ListPodSandboxStats(pb.ListPodSandboxStatsRequest(
        filter=pb.PodSandboxStatsFilter(label_selector={"suite": "stats"}))).stats
    assert [x.attributes.id for x in listed] == [sid]
    listed = rt.ListPodSandboxStats(pb.ListPodSandboxStatsRequest(filter=pb.PodSandboxStatsFilter(id=sid[:10]))).stats
    assert [x.attributes.id for x in listed] == [sid]


def test_cni_bridge_ips(rt, api_pb, pods, bridge_net, e2e_root):
    pb = api_pb
    prefix, bridge, ipam = bridge_net
    sid = _run(rt, pb, _config(pb, "cni"))
    pods.append(sid)
    st = _status(rt, pb, sid).status
    assert st.state == pb.SANDBOX_READY
    ip = st.network.ip
    assert ip.startswith(prefix), ip
    assert list(st.network.additional_ips) == []
    pid = _pid(rt, pb, sid)
    pin = _pin(rt, pb, sid, e2e_root)
    assert ("eth0", ip) in _ns_addrs(pid)
    assert ("lo", "127.0.0.1") in _ns_addrs(pid)
    assert os.path.exists(os.path.join(ipam, "pods222", ip))  # host-local's lease
    info = json.loads(_status(rt, pb, sid, verbose=True).info["info"])
    assert info["cniResult"]["ips"][0]["address"].startswith(ip + "/")
    # Traffic over the bridge: the host has no address on it, so ping the
    # pod from a second pod.
    sid2 = _run(rt, pb, _config(pb, "cni2"))
    pods.append(sid2)
    ip2 = _status(rt, pb, sid2).status.network.ip
    assert ip2.startswith(prefix) and ip2 != ip
    ping = subprocess.run(["nsenter", "-t", str(pid), "-n", "busybox", "ping", "-c", "1", "-W", "5", ip2],
                          capture_output=True, text=True)
    assert ping.returncode == 0, ping.stdout + ping.stderr
    stats = rt.PodSandboxStats(pb.PodSandboxStatsRequest(pod_sandbox_id=sid)).stats
    eth0 = stats.linux.network.default_interface
    assert eth0.name == "eth0" and eth0.tx_bytes.value > 0 and eth0.rx_bytes.value > 0

    rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sid))
    assert not os.path.exists(os.path.join(ipam, "pods222", ip))  # DEL released it
    assert not os.path.exists(pin)
    rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sid))
    rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=sid))
    rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=sid2))
    assert not os.path.exists(os.path.join(ipam, "pods222", ip2))
    links = subprocess.run(["ip", "-o", "link", "show", "master", bridge], capture_output=True, text=True).stdout
    assert links.strip() == ""  # no veth left on the bridge


def test_cni_failure_undoes_everything(rt, api_pb, pods, e2e_root, berth):
    pb = api_pb
    conf_dir = os.environ["BERTH_CRI_CNI_DIR"]
    path = os.path.join(conf_dir, "05-broken.conflist")
    with open(path, "w") as f:
        json.dump({"cniVersion": "1.0.0", "name": "broken",
                   "plugins": [{"type": "loopback"}, {"type": "no-such-plugin-222"}]}, f)
    try:
        before = {p.id for p in rt.ListPodSandbox(pb.ListPodSandboxRequest()).items}
        pins = set(os.listdir(_netns_dir(e2e_root))) if os.path.isdir(_netns_dir(e2e_root)) else set()
        cfg = _config(pb, "broken")
        code, details = _code(lambda: _run(rt, pb, cfg))
        assert "no-such-plugin-222" in details and "failed to setup network" in details
        assert {p.id for p in rt.ListPodSandbox(pb.ListPodSandboxRequest()).items} == before
        now = set(os.listdir(_netns_dir(e2e_root))) if os.path.isdir(_netns_dir(e2e_root)) else set()
        assert now == pins
        # No pause container left behind (berth sees every container while
        # the CRI namespace is not hidden; afterwards the count is 0 anyway).
        ps = subprocess.run(["pgrep", "-f", "k8s_POD_broken"], capture_output=True, text=True)
        assert ps.stdout.strip() == ""
        assert berth("inspect", "k8s_POD_broken_berth-test_%s_0" % cfg.metadata.uid, check=False).returncode != 0
    finally:
        os.unlink(path)


def test_pause_start_failure_undoes_the_parallel_add(rt, api_pb, pods, bridge_net, e2e_root, berth):
    """CNI ADD runs while the pause starts: when the start fails (a net.*
    sysctl the kernel does not have passes the create checks and fails in
    the runtime), the ADD is awaited and undone by DEL (host-local's lease
    released, no veth on the bridge), the pin removed, the pause container
    and the record gone."""
    pb = api_pb
    prefix, bridge, ipam = bridge_net
    before = {p.id for p in rt.ListPodSandbox(pb.ListPodSandboxRequest()).items}
    pins = set(os.listdir(_netns_dir(e2e_root))) if os.path.isdir(_netns_dir(e2e_root)) else set()
    linux = pb.LinuxPodSandboxConfig(sysctls={"net.ipv4.no_such_knob_222": "1"})
    cfg = _config(pb, "badstart", linux=linux)
    code, details = _code(lambda: _run(rt, pb, cfg))
    assert "failed to start the sandbox container" in details, details
    assert "no_such_knob_222" in details, details
    assert {p.id for p in rt.ListPodSandbox(pb.ListPodSandboxRequest()).items} == before
    now = set(os.listdir(_netns_dir(e2e_root))) if os.path.isdir(_netns_dir(e2e_root)) else set()
    assert now == pins
    name = "k8s_POD_badstart_berth-test_%s_0" % cfg.metadata.uid
    assert berth("inspect", name, check=False).returncode != 0
    # The ADD did run (host-local reserved an address) and DEL released it.
    leases = os.listdir(os.path.join(ipam, "pods222"))
    assert "last_reserved_ip.0" in leases, leases
    assert [f for f in leases if f.startswith(prefix)] == [], leases
    links = subprocess.run(["ip", "-o", "link", "show", "master", bridge], capture_output=True, text=True).stdout
    assert links.strip() == ""


def _restart_berthd():
    helpers = os.path.join(REPO, "tests", "e2e", "helpers.bash")
    subprocess.run(["bash", "-c", f"source {helpers} && berthd_kill9 && berthd_start"], check=True, timeout=60,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)


def test_sandboxes_survive_berthd_sigkill(rt, api_pb, pods, bridge_net, e2e_root, berth):
    pb = api_pb
    prefix, bridge, ipam = bridge_net
    sid = _run(rt, pb, _config(pb, "survivor", labels={"suite": "sigkill"}))
    pods.append(sid)
    ip = _status(rt, pb, sid).status.network.ip
    assert ip.startswith(prefix)
    pid = _pid(rt, pb, sid)
    stopped = _run(rt, pb, _config(pb, "stopped", labels={"suite": "sigkill"}))
    pods.append(stopped)
    rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=stopped))
    # What a berthd killed inside RunPodSandbox would leave: a pause
    # container without a record, a namespace pin without a record.
    orphan = berth("run", "-d", "--label", "io.berth.namespace=k8s.io", "--label", "io.berth.cri.kind=sandbox",
                   "busybox", "sleep", "1000").stdout.strip()
    stray_pin = os.path.join(_netns_dir(e2e_root), "f" * 64)
    open(stray_pin, "w").close()

    _restart_berthd()
    deadline = time.time() + 20
    while True:
        try:
            items = rt.ListPodSandbox(pb.ListPodSandboxRequest(
                filter=pb.PodSandboxFilter(label_selector={"suite": "sigkill"}))).items
            break
        except grpc.RpcError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)
    states = {p.id: p.state for p in items}
    assert states == {sid: pb.SANDBOX_READY, stopped: pb.SANDBOX_NOTREADY}
    assert berth("inspect", orphan, check=False).returncode != 0  # the leftovers are gone
    assert not os.path.exists(stray_pin)
    st = _status(rt, pb, sid).status
    assert st.network.ip == ip
    assert _pid(rt, pb, sid) == pid  # the same pause, never restarted
    assert ("eth0", ip) in _ns_addrs(pid)
    # The kept CNI result drives DEL after the restart.
    rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sid))
    assert not os.path.exists(os.path.join(ipam, "pods222", ip))
    rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=sid))
    rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=stopped))
    assert list(rt.ListPodSandbox(pb.ListPodSandboxRequest(
        filter=pb.PodSandboxFilter(label_selector={"suite": "sigkill"}))).items) == []


def test_berthd_killed_during_run_pod_sandbox(rt, api_pb, pods, e2e_root, berth):
    """berthd SIGKILLed while RunPodSandbox's CNI ADD runs (a fake plugin
    that waits) beside the pause start: after the restart the pod is listed
    NOTREADY (its first record names no namespace), the namespace pinned
    before the pause is removed by reconcile, and Stop + Remove clean up the
    pause container."""
    import signal
    import threading
    pb = api_pb
    conf_dir, bin_dir = os.environ["BERTH_CRI_CNI_DIR"], os.environ["BERTH_CRI_CNI_BIN"]
    work = tempfile.mkdtemp(prefix="cri-slow.", dir=os.environ.get("BERTH_E2E_TMP", "/tmp"))
    plugin = os.path.join(bin_dir, "slow222")
    with open(plugin, "w") as f:
        f.write("#!/bin/sh\ncat >/dev/null\n[ \"$CNI_COMMAND\" = ADD ] || exit 0\n"
                f"echo $$ >{work}/pid.tmp && mv {work}/pid.tmp {work}/pid\nexec sleep 30\n")
    os.chmod(plugin, 0o755)
    path = os.path.join(conf_dir, "01-slow.conflist")
    with open(path, "w") as f:
        json.dump({"cniVersion": "1.0.0", "name": "slow", "plugins": [{"type": "slow222"}]}, f)
    plugin_pid = None
    try:
        cfg = _config(pb, "cut-short", labels={"suite": "cut-short"})
        errors = []

        def run():
            try:
                _run(rt, pb, cfg)
            except grpc.RpcError as e:
                errors.append(e.code())
        t = threading.Thread(target=run)
        t.start()
        sel = pb.ListPodSandboxRequest(filter=pb.PodSandboxFilter(label_selector={"suite": "cut-short"}))
        deadline = time.time() + 20
        while not (os.path.exists(os.path.join(work, "pid")) and rt.ListPodSandbox(sel).items):
            assert time.time() < deadline, "the ADD never started or the first record never came"
            time.sleep(0.05)
        plugin_pid = int(open(os.path.join(work, "pid")).read())
        # The pause thread may still be starting the pause: let it finish.
        sid = rt.ListPodSandbox(sel).items[0].id
        pods.append(sid)
        deadline = time.time() + 20
        while json.loads(_status(rt, pb, sid, verbose=True).info["info"]).get("pid", 0) <= 0:
            assert time.time() < deadline, "the pause never started"
            time.sleep(0.05)
        pins = [n for n in os.listdir(_netns_dir(e2e_root)) if n.startswith("cni-")]
        assert pins, "no namespace pinned before the pause"
        os.unlink(path)  # the restarted berthd runs no CNI for this pod
        _restart_berthd()
        t.join(30)
        assert not t.is_alive() and errors, "RunPodSandbox did not fail with the daemon gone"
        deadline = time.time() + 20
        while True:
            try:
                items = rt.ListPodSandbox(sel).items
                break
            except grpc.RpcError:
                assert time.time() < deadline
                time.sleep(0.2)
        assert [(p.id, p.state) for p in items] == [(sid, pb.SANDBOX_NOTREADY)]
        left = set(os.listdir(_netns_dir(e2e_root)))
        assert not left & set(pins), "reconcile left the pin of the cut-short pod"
        rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sid))
        rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=sid))
        assert berth("inspect", sid, check=False).returncode != 0  # the pause container is gone
        assert list(rt.ListPodSandbox(sel).items) == []
    finally:
        if plugin_pid:
            try:
                os.kill(plugin_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if os.path.exists(path):
            os.unlink(path)
        os.unlink(plugin)
        shutil.rmtree(work, ignore_errors=True)


def _pause_image():
    """The pause image's name in the k8s.io namespace (cri/pods.cpp)."""
    import hashlib
    with open(os.path.join(os.environ["BERTH_BIN_DIR"], "berth-pause"), "rb") as f:
        return "berth.local/pause:" + hashlib.sha256(f.read()).hexdigest()[:12]


def test_pod_containers_share_the_sandbox_and_follow_it(rt, api_pb, pods):
    """A pod container (the pause image, the only one every berth has in
    k8s.io) joins the sandbox's network, IPC and, for pid POD, PID
    namespaces and gets its hostname; StopPodSandbox stops it, RemovePodSandbox removes it."""
    pb = api_pb
    ns = pb.NamespaceOption(pid=pb.POD)
    linux = pb.LinuxPodSandboxConfig(security_context=pb.LinuxSandboxSecurityContext(namespace_options=ns))
    cfg = _config(pb, "withctr", linux=linux, hostname="withctr")
    sid = _run(rt, pb, cfg)
    pods.append(sid)
    cc = pb.ContainerConfig(metadata=pb.ContainerMetadata(name="c1"), image=pb.ImageSpec(image=_pause_image()),
                            command=["/pause"],
                            linux=pb.LinuxContainerConfig(security_context=pb.LinuxContainerSecurityContext(
                                namespace_options=pb.NamespaceOption(pid=pb.POD))))
    cid = rt.CreateContainer(pb.CreateContainerRequest(pod_sandbox_id=sid, config=cc, sandbox_config=cfg)).container_id
    rt.StartContainer(pb.StartContainerRequest(container_id=cid))
    spid = _pid(rt, pb, sid)
    cpid = json.loads(rt.ContainerStatus(pb.ContainerStatusRequest(container_id=cid, verbose=True)).info["info"])["pid"]
    assert cpid > 0 and cpid != spid
    for kind in ("net", "ipc", "pid"):
        assert os.readlink(f"/proc/{cpid}/ns/{kind}") == os.readlink(f"/proc/{spid}/ns/{kind}"), kind
    # The pod's hostname (berth gives the container the donor's hostname in
    # a UTS namespace of its own, as Docker does for --network container:).
    uts = subprocess.run(["nsenter", "-t", str(cpid), "-u", "hostname"], capture_output=True, text=True).stdout
    assert uts.strip() == "withctr"
    nspid = [l for l in open(f"/proc/{cpid}/status") if l.startswith("NSpid:")][0].split()[1:]
    assert nspid[-1] != "1"  # the sandbox's pause is PID 1 of the pod
    # The pod's stats count both processes.
    s = rt.PodSandboxStats(pb.PodSandboxStatsRequest(pod_sandbox_id=sid)).stats
    assert s.linux.process.process_count.value == 2

    rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sid))
    assert rt.ContainerStatus(pb.ContainerStatusRequest(container_id=cid)).status.state == pb.CONTAINER_EXITED
    rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=sid))
    code, _ = _code(lambda: rt.ContainerStatus(pb.ContainerStatusRequest(container_id=cid)))
    assert code == grpc.StatusCode.NOT_FOUND


def test_pause_killed_is_notready_and_stop_still_tears_down(rt, api_pb, pods, bridge_net, e2e_root):
    """The pause dies on its own: the sandbox reads NOTREADY (never
    restarted), and StopPodSandbox still runs CNI DEL through the pinned
    namespace, releasing the address."""
    import signal
    pb = api_pb
    prefix, bridge, ipam = bridge_net
    sid = _run(rt, pb, _config(pb, "killed"))
    pods.append(sid)
    ip = _status(rt, pb, sid).status.network.ip
    assert ip.startswith(prefix)
    pid = _pid(rt, pb, sid)
    pin = _pin(rt, pb, sid, e2e_root)
    os.kill(pid, signal.SIGKILL)
    deadline = time.time() + 10
    while _status(rt, pb, sid).status.state != pb.SANDBOX_NOTREADY:
        assert time.time() < deadline, "sandbox still READY after its pause was killed"
        time.sleep(0.05)
    time.sleep(0.3)
    assert _status(rt, pb, sid).status.state == pb.SANDBOX_NOTREADY  # no restart policy brought it back
    assert os.path.exists(os.path.join(ipam, "pods222", ip))
    rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sid))
    assert not os.path.exists(os.path.join(ipam, "pods222", ip))
    assert not os.path.exists(pin)
    rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=sid))
    code, _ = _code(lambda: _status(rt, pb, sid))
    assert code == grpc.StatusCode.NOT_FOUND
