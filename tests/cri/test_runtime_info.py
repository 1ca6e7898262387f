"""Version, Status, RuntimeConfig and the calls berth answers Unimplemented
or empty (runtime_info.cpp); and that the module loads lazily."""

import grpc
import pytest


def test_version(rt, api_pb):
    v = rt.Version(api_pb.VersionRequest(version="v1"))
    assert v.runtime_name == "berth"
    assert v.runtime_api_version == "v1"
    assert v.runtime_version != ""


def test_status_conditions_and_handlers(rt, api_pb):
    s = rt.Status(api_pb.StatusRequest(verbose=True))
    conds = {c.type: c for c in s.status.conditions}
    assert conds["RuntimeReady"].status is True
    # run.sh gives berthd an empty CNI conf dir: the network is not ready
    assert "NetworkReady" in conds
    assert [h.name for h in s.runtime_handlers] == [""]
    assert "config" in s.info


def test_network_ready_follows_the_cni_conf_dir(rt, api_pb, tmp_path):
    import os
    conf_dir = os.environ["BERTH_CRI_CNI_DIR"]
    before = {c.type: c for c in rt.Status(api_pb.StatusRequest()).status.conditions}
    assert before["NetworkReady"].status is False
    assert before["NetworkReady"].reason == "NetworkPluginNotReady"
    path = os.path.join(conf_dir, "99-probe.conflist")
    with open(path, "w") as f:
        f.write('{"cniVersion": "1.0.0", "name": "probe", "plugins": [{"type": "loopback"}]}')
    try:
        after = {c.type: c for c in rt.Status(api_pb.StatusRequest()).status.conditions}
        assert after["NetworkReady"].status is True
    finally:
        os.unlink(path)


def test_runtime_config_is_cgroupfs(rt, api_pb):
    r = rt.RuntimeConfig(api_pb.RuntimeConfigRequest())
    assert r.linux.cgroup_driver == api_pb.CGROUPFS


def test_update_runtime_config_keeps_the_pod_cidr(rt, api_pb):
    rt.UpdateRuntimeConfig(api_pb.UpdateRuntimeConfigRequest(
        runtime_config=api_pb.RuntimeConfig(network_config=api_pb.NetworkConfig(pod_cidr="10.223.0.0/16"))))
    s = rt.Status(api_pb.StatusRequest(verbose=True))
    assert "10.223.0.0/16" in s.info["config"]


def test_checkpoint_is_unimplemented(rt, api_pb):
    with pytest.raises(grpc.RpcError) as e:
        rt.CheckpointContainer(api_pb.CheckpointContainerRequest(container_id="x"))
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_metrics_are_empty(rt, api_pb):
    assert len(rt.ListMetricDescriptors(api_pb.ListMetricDescriptorsRequest()).descriptors) == 0
    assert len(rt.ListPodSandboxMetrics(api_pb.ListPodSandboxMetricsRequest()).pod_metrics) == 0
