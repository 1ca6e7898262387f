"""Volumes through docker-py, and the API 1.42 prune semantics."""

import docker
import pytest

IMAGE = "busybox:latest"


def test_create_inspect_list_remove(client, names):
    n = names("vol")
    v = client.volumes.create(n, labels={"py": "1"})
    assert v.name == n
    assert v.attrs["Driver"] == "local"
    assert v.attrs["Labels"] == {"py": "1"}
    assert n in [x.name for x in client.volumes.list(filters={"label": "py=1"})]
    assert n in [x.name for x in client.volumes.list(filters={"name": "^" + n + "$"})]
    v.remove()
    with pytest.raises(docker.errors.NotFound):
        client.volumes.get(n)


def test_volume_in_use_cannot_be_removed(client, names):
    n = names("used")
    client.containers.create(IMAGE, ["true"], name=names("user"), volumes={n: {"bind": "/data", "mode": "rw"}})
    with pytest.raises(docker.errors.APIError) as e:
        client.volumes.get(n).remove()
    assert e.value.status_code == 409
    assert "volume is in use" in str(e.value)


def test_data_survives_container(client, names):
    n = names("data")
    client.containers.run(IMAGE, ["sh", "-c", "echo kept > /data/f"], volumes={n: {"bind": "/data"}}, remove=True)
    assert client.containers.run(IMAGE, ["cat", "/data/f"], volumes={n: {"bind": "/data"}}, remove=True) == b"kept\n"


def test_prune_keeps_named_volumes_on_new_api(client, names):
    named = names("named")
    client.volumes.create(named)
    c = client.containers.create(IMAGE, ["true"], name=names("anon"), volumes=["/anon"])
    anon = [m["Name"] for m in c.attrs["Mounts"] if m["Destination"] == "/anon"][0]
    c.remove()
    pruned = client.volumes.prune()["VolumesDeleted"] or []
    assert anon in pruned
    assert named not in pruned
    client.volumes.get(named)
    pruned = client.volumes.prune(filters={"all": "true"})["VolumesDeleted"] or []
    assert named in pruned


def test_archive_in_volume_of_stopped_container(client, names):
    n = names("cpvol")
    c = client.containers.create(IMAGE, ["true"], name=names("cp"), volumes={n: {"bind": "/vol1"}})
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("in.txt")
        info.size = 3
        t.addfile(info, io.BytesIO(b"abc"))
    assert c.put_archive("/vol1", buf.getvalue())
    stream, stat = c.get_archive("/vol1/in.txt")
    data = b"".join(stream)
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        assert t.extractfile("in.txt").read() == b"abc"
    assert stat["name"] == "in.txt"
    # the file is in the volume, not in the container's own layer
    assert client.containers.run(IMAGE, ["cat", "/v/in.txt"], volumes={n: {"bind": "/v"}}, remove=True) == b"abc"
