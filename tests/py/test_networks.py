"""Networks through docker-py. The bridge gets a name and a subnet of this
suite's own (10.221.x.0/24, listed in the root's net-links so that
e2e_cleanup_root removes it even after a failure)."""

import os
import random

import docker
import pytest

IMAGE = "busybox:latest"


@pytest.fixture
def network(client, names, data_root):
    n = names("net")
    bridge = "btpy%x" % random.randrange(1 << 24)
    with open(os.path.join(os.path.dirname(data_root), "net-links"), "a") as f:
        f.write(bridge + "\n")
    third = random.randrange(256)
    ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=f"10.221.{third}.0/24")])
    net = client.networks.create(n, driver="bridge", ipam=ipam, labels={"py": "1"},
                                 options={"com.docker.network.bridge.name": bridge})
    yield net
    try:
        net.remove()
    except docker.errors.NotFound:
        pass


def test_create_inspect_list(client, network):
    net = client.networks.get(network.id)
    assert net.name == network.name
    assert net.attrs["Driver"] == "bridge"
    assert net.attrs["Labels"] == {"py": "1"}
    assert net.attrs["IPAM"]["Config"][0]["Subnet"].startswith("10.221.")
    assert network.id in [n.id for n in client.networks.list(filters={"label": "py=1"})]
    assert network.id in [n.id for n in client.networks.list(names=[network.name])]


def test_duplicate_name_conflicts(client, network):
    with pytest.raises(docker.errors.APIError) as e:
        client.networks.create(network.name, driver="bridge")
    assert e.value.status_code == 409


def test_connect_disconnect_created_container(client, network, names):
    c = client.containers.create(IMAGE, ["true"], name=names("nc"))
    network.connect(c, aliases=["pyalias"])
    c.reload()
    assert network.name in c.attrs["NetworkSettings"]["Networks"]
    assert "pyalias" in c.attrs["NetworkSettings"]["Networks"][network.name]["Aliases"]
    ps = client.containers.list(all=True, filters={"network": network.name})
    assert c.id in [x.id for x in ps]
    network.disconnect(c)
    c.reload()
    assert network.name not in c.attrs["NetworkSettings"]["Networks"]


def test_remove_unknown_network(client):
    with pytest.raises(docker.errors.NotFound):
        client.networks.get("py-no-such-network")
