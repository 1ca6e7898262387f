"""The CRI ImageService (images.cpp) against run.sh's berthd and loopback
registries: pull, list, status (verbose too), remove, ImageFsInfo, auth,
the error answers (NotFound is an empty status, remove is idempotent), and
the k8s.io namespace kept apart from Docker's names (`berth images`)."""

import base64
import json
import os
import subprocess
import tarfile
import io

import grpc
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))


@pytest.fixture(scope="module")
def reg():
    return os.environ["BERTH_CRI_REGISTRY"]


@pytest.fixture(scope="module")
def pushed(berth, reg):
    """A busybox image in the loopback registry, pushed from Docker's busybox:latest."""
    ref = f"{reg}/cri/busybox:1"
    berth("tag", "busybox:latest", ref)
    berth("push", ref)
    berth("rmi", ref)
    return ref


def spec(api_pb, ref):
    return api_pb.ImageSpec(image=ref)


def status(img, api_pb, ref, verbose=False):
    return img.ImageStatus(api_pb.ImageStatusRequest(image=spec(api_pb, ref), verbose=verbose))


def cri_tags(img, api_pb):
    return {t for i in img.ListImages(api_pb.ListImagesRequest()).images for t in i.repo_tags}


def docker_names(berth):
    out = berth("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    return set(out)


def test_pull_status_list(img, api_pb, pushed, berth):
    resp = img.PullImage(api_pb.PullImageRequest(image=spec(api_pb, pushed)))
    image_id = resp.image_ref
    assert image_id.startswith("sha256:") and len(image_id) == 71
    st = status(img, api_pb, pushed)
    assert st.HasField("image")
    i = st.image
    assert i.id == image_id
    assert list(i.repo_tags) == [pushed]
    assert len(i.repo_digests) == 1 and i.repo_digests[0].startswith(pushed.rsplit(":", 1)[0] + "@sha256:")
    assert i.size > 0
    assert i.spec.image == image_id
    assert not i.pinned
    assert not i.HasField("uid") and i.username == ""
    assert not st.info
    # By id and by digest name too.
    assert status(img, api_pb, image_id).image.id == image_id
    assert status(img, api_pb, i.repo_digests[0]).image.id == image_id
    # Verbose: containerd's info JSON.
    v = status(img, api_pb, pushed, verbose=True)
    info = json.loads(v.info["info"])
    assert info["chainID"].startswith("sha256:")
    assert info["imageSpec"]["rootfs"]["type"] == "layers"
    assert info["imageSpec"]["rootfs"]["diff_ids"]
    # ListImages: all, and filtered by a spec.
    listed = img.ListImages(api_pb.ListImagesRequest()).images
    assert [x.id for x in listed if pushed in x.repo_tags] == [image_id]
    one = img.ListImages(api_pb.ListImagesRequest(filter=api_pb.ImageFilter(image=spec(api_pb, pushed)))).images
    assert [x.id for x in one] == [image_id]
    none = img.ListImages(api_pb.ListImagesRequest(
        filter=api_pb.ImageFilter(image=spec(api_pb, "127.0.0.1:9/none:x")))).images
    assert list(none) == []
    # Pulling again answers the same image.
    assert img.PullImage(api_pb.PullImageRequest(image=spec(api_pb, pushed))).image_ref == image_id


def test_namespaces_are_separate(img, api_pb, pushed, berth):
    image_id = img.PullImage(api_pb.PullImageRequest(image=spec(api_pb, pushed))).image_ref
    # The CRI's name is not Docker's ...
    assert pushed not in docker_names(berth)
    p = berth("image", "inspect", pushed, check=False)
    assert p.returncode != 0 and "No such image" in p.stderr
    p = berth("rmi", pushed, check=False)
    assert p.returncode != 0
    # ... and Docker's names are not the CRI's, though the content is shared
    # (the pushed image is Docker's busybox:latest).
    berth("tag", "busybox:latest", "only-docker:1")
    tags = cri_tags(img, api_pb)
    assert "docker.io/library/only-docker:1" not in tags
    assert "docker.io/library/busybox:latest" not in tags
    assert not status(img, api_pb, "only-docker:1").HasField("image")
    docker_id = berth("image", "inspect", "--format", "{{.Id}}", "busybox:latest").stdout.strip()
    assert docker_id == image_id
    # Removing the CRI's name keeps Docker's image (shared content) usable.
    img.RemoveImage(api_pb.RemoveImageRequest(image=spec(api_pb, pushed)))
    assert not status(img, api_pb, pushed).HasField("image")
    assert berth("run", "--rm", "busybox:latest", "echo", "still-here").stdout.strip() == "still-here"
    # And Docker's rmi of its name keeps the CRI's.
    img.PullImage(api_pb.PullImageRequest(image=spec(api_pb, pushed)))
    berth("rmi", "only-docker:1")
    assert status(img, api_pb, pushed).image.id == image_id


def test_status_of_a_missing_image_is_empty(img, api_pb):
    st = status(img, api_pb, "127.0.0.1:9/none:x")
    assert not st.HasField("image")
    assert not st.info
    st = status(img, api_pb, "sha256:" + "0" * 64, verbose=True)
    assert not st.HasField("image")
    with pytest.raises(grpc.RpcError) as e:
        status(img, api_pb, "")
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_remove_is_idempotent(img, api_pb, pushed):
    img.RemoveImage(api_pb.RemoveImageRequest(image=spec(api_pb, "127.0.0.1:9/none:x")))
    img.RemoveImage(api_pb.RemoveImageRequest(image=spec(api_pb, "sha256:" + "0" * 64)))
    image_id = img.PullImage(api_pb.PullImageRequest(image=spec(api_pb, pushed))).image_ref
    img.RemoveImage(api_pb.RemoveImageRequest(image=spec(api_pb, image_id)))
    assert not status(img, api_pb, pushed).HasField("image")
    img.RemoveImage(api_pb.RemoveImageRequest(image=spec(api_pb, image_id)))
    img.RemoveImage(api_pb.RemoveImageRequest(image=spec(api_pb, pushed)))


def test_pull_errors(img, api_pb, reg):
    with pytest.raises(grpc.RpcError) as e:
        img.PullImage(api_pb.PullImageRequest(image=spec(api_pb, f"{reg}/cri/absent:1")))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert "absent" in e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        img.PullImage(api_pb.PullImageRequest(image=spec(api_pb, "127.0.0.1:9/none:x")))
    assert e.value.code() != grpc.StatusCode.OK
    assert "127.0.0.1:9" in e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        img.PullImage(api_pb.PullImageRequest(image=spec(api_pb, "")))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as e:
        img.PullImage(api_pb.PullImageRequest(image=spec(api_pb, "Bad//Name")))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def _tiny_rootfs(path):
    with tarfile.open(path, "w") as t:
        data = b"hello\n"
        ti = tarfile.TarInfo("hello.txt")
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))


@pytest.mark.parametrize("user,uid,username", [("1000:100", 1000, ""), ("nobody", None, "nobody")])
def test_uid_and_username_from_the_config(img, api_pb, berth, reg, tmp_path, user, uid, username):
    tar = tmp_path / "rootfs.tar"
    _tiny_rootfs(tar)
    ref = f"{reg}/cri/user-{uid or username}:1"
    berth("import", "--change", f"USER {user}", str(tar), ref)
    berth("push", ref)
    berth("rmi", ref)
    img.PullImage(api_pb.PullImageRequest(image=spec(api_pb, ref)))
    i = status(img, api_pb, ref).image
    if uid is None:
        assert not i.HasField("uid")
    else:
        assert i.uid.value == uid
    assert i.username == username
    img.RemoveImage(api_pb.RemoveImageRequest(image=spec(api_pb, ref)))


@pytest.fixture(scope="module")
def auth_registry(berth, e2e_root, pushed):
    """An htpasswd registry (alice / s3cret) holding cri/busybox:auth."""
    import crypt
    htpasswd = os.path.join(e2e_root, "cri-htpasswd")
    with open(htpasswd, "w") as f:
        f.write("alice:" + crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH)).replace("$2b$", "$2y$", 1) + "\n")
    script = (f'source "{REPO}/tests/e2e/helpers.bash"; source "{REPO}/tests/e2e/registry_helpers.bash"; '
              f'reg_start criauth "auth:\n  htpasswd:\n    realm: berth-cri\n    path: {htpasswd}" >&2 && echo "$REG_CRIAUTH"')
    addr = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, E2E_ROOT=e2e_root)).stdout.strip()
    assert addr.startswith("127.0.0.1:"), "auth registry did not start"
    ref = f"{addr}/cri/busybox:auth"
    berth("login", "-u", "alice", "-p", "s3cret", addr)
    berth("tag", "busybox:latest", ref)
    berth("push", ref)
    berth("rmi", ref)
    berth("logout", addr)
    return addr, ref


def test_pull_with_auth(img, api_pb, auth_registry):
    addr, ref = auth_registry
    req = lambda **kw: api_pb.PullImageRequest(image=spec(api_pb, ref), auth=api_pb.AuthConfig(**kw))
    with pytest.raises(grpc.RpcError) as e:
        img.PullImage(api_pb.PullImageRequest(image=spec(api_pb, ref)))
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as e:
        img.PullImage(req(username="alice", password="wrong", server_address=addr))
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as e:
        img.PullImage(req(auth="!!"))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    image_id = img.PullImage(req(username="alice", password="s3cret", server_address=addr)).image_ref
    assert image_id.startswith("sha256:")
    img.RemoveImage(api_pb.RemoveImageRequest(image=spec(api_pb, ref)))
    # auth: base64("user:password"), as kubelet sends from a docker config.
    token = base64.b64encode(b"alice:s3cret").decode()
    assert img.PullImage(req(auth=token)).image_ref == image_id
    img.RemoveImage(api_pb.RemoveImageRequest(image=spec(api_pb, ref)))


def test_pull_accepts_a_sandbox_config(img, api_pb, pushed):
    cfg = api_pb.PodSandboxConfig(metadata=api_pb.PodSandboxMetadata(name="p", uid="u", namespace="n"))
    r = img.PullImage(api_pb.PullImageRequest(image=spec(api_pb, pushed), sandbox_config=cfg))
    assert r.image_ref.startswith("sha256:")


def test_image_fs_info(img, api_pb, e2e_root):
    r = img.ImageFsInfo(api_pb.ImageFsInfoRequest())
    assert len(r.image_filesystems) == 1
    fs = r.image_filesystems[0]
    assert fs.fs_id.mountpoint == os.path.join(e2e_root, "data", "snapshots")
    assert fs.used_bytes.value > 0
    assert fs.inodes_used.value > 10  # busybox's files at least
    assert fs.timestamp > 0
    assert len(r.container_filesystems) == 1
    assert r.container_filesystems[0].fs_id.mountpoint == os.path.join(e2e_root, "data", "containers")
