"""Images through docker-py: build, push and pull against the loopback
registry, save and load, load errors, inspect on the newest API."""

import io

import docker
import pytest

IMAGE = "busybox:latest"


def test_api_version_negotiated(client):
    v = client.version()
    assert v["ApiVersion"] == "1.50"
    assert client.api.api_version == "1.50"


def test_inspect_on_new_api_has_no_deprecated_fields(client):
    attrs = client.images.get(IMAGE).attrs
    for gone in ("VirtualSize", "Container", "ContainerConfig"):
        assert gone not in attrs
    for gone in ("Hostname", "Tty", "Image", "AttachStdin"):
        assert gone not in attrs["Config"]
    assert attrs["Config"]["Cmd"] == ["sh"]


def test_build(client, names):
    tag = names("build") + ":1"
    df = b"FROM busybox\nRUN echo built > /built\nLABEL py=yes\nCMD [\"cat\", \"/built\"]\n"
    img, logs = client.images.build(fileobj=io.BytesIO(df), tag=tag, rm=True)
    try:
        assert img.labels["py"] == "yes"
        assert any("Successfully built" in l.get("stream", "") for l in logs)
        assert client.containers.run(tag, remove=True) == b"built\n"
    finally:
        client.images.remove(tag, force=True)


def test_build_error(client):
    with pytest.raises(docker.errors.BuildError) as e:
        client.images.build(fileobj=io.BytesIO(b"FROM busybox\nRUN exit 3\n"), rm=True)
    assert "returned a non-zero code: 3" in str(e.value)


def test_push_pull_round_trip(client, registry):
    ref = f"{registry}/py/busybox"
    img = client.images.get(IMAGE)
    assert img.tag(ref, "v1")
    out = client.images.push(ref, tag="v1")
    assert "errorDetail" not in out
    assert "digest: sha256:" in out
    client.images.remove(f"{ref}:v1")
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get(f"{ref}:v1")
    pulled = client.images.pull(ref, tag="v1")
    assert pulled.id == img.id
    assert f"{ref}:v1" in pulled.tags
    client.images.remove(f"{ref}:v1")


def test_pull_missing_raises(client, registry):
    with pytest.raises(docker.errors.NotFound):
        client.images.pull(f"{registry}/py/none", tag="x")


def test_save_load_round_trip(client, names):
    tag = names("saved") + ":1"
    img = client.images.get(IMAGE)
    img.tag(tag)
    data = b"".join(client.api.get_image(tag))  # names=TAG: the archive names it
    client.images.remove(tag)
    loaded = client.images.load(data)
    assert [i.id for i in loaded] == [img.id]
    assert tag in client.images.get(tag).tags
    client.images.remove(tag)


def test_load_error_raises_image_load_error(client):
    # dockerd answers 200 with the error in the JSON stream; docker-py raises from it
    with pytest.raises(docker.errors.ImageLoadError):
        client.images.load(b"this is not an image archive" * 100)


def test_list_untagged_images_have_empty_tags(client, api):
    # API >= 1.43: no "<none>:<none>" placeholders
    for i in api.images(all=True):
        assert "<none>:<none>" not in (i["RepoTags"] or [])
        assert "VirtualSize" not in i
