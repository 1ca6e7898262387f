"""Fixtures of the CRI suite (tests/cri, issue 16): gRPC stubs of
runtime.v1, generated from src/cri/proto/api.proto at session start, and
clients of the CRI socket of the berthd that run.sh started
(BERTH_CRI_SOCK). `rt` is the RuntimeService stub, `img` the ImageService
stub; `berth` runs the berth CLI against the same berthd."""

import importlib
import os
import subprocess
import sys
import tempfile

import grpc
import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _env(name):
    value = os.environ.get(name)
    if not value:
        pytest.exit(f"{name} is not set: run the suite through tests/cri/run.sh", returncode=2)
    return value


def _generate_stubs():
    out = tempfile.mkdtemp(prefix="cri-stubs.")
    from grpc_tools import protoc
    rc = protoc.main(["grpc_tools.protoc", f"-I{REPO}/src/cri/proto", f"--python_out={out}",
                      f"--grpc_python_out={out}", "api.proto"])
    if rc != 0:
        pytest.exit("grpc_tools.protoc could not compile src/cri/proto/api.proto", returncode=2)
    sys.path.insert(0, out)
    return importlib.import_module("api_pb2"), importlib.import_module("api_pb2_grpc")


pb, pb_grpc = _generate_stubs()


@pytest.fixture(scope="session")
def api_pb():
    """The generated message module (api_pb2)."""
    return pb


@pytest.fixture(scope="session")
def channel():
    ch = grpc.insecure_channel("unix://" + _env("BERTH_CRI_SOCK"))
    grpc.channel_ready_future(ch).result(timeout=20)
    yield ch
    ch.close()


@pytest.fixture(scope="session")
def rt(channel):
    return pb_grpc.RuntimeServiceStub(channel)


@pytest.fixture(scope="session")
def img(channel):
    return pb_grpc.ImageServiceStub(channel)


@pytest.fixture(scope="session")
def e2e_root():
    return _env("BERTH_CRI_ROOT")


@pytest.fixture(scope="session")
def berth():
    """berth(*args) -> CompletedProcess of the berth CLI against run.sh's berthd."""
    sock = _env("BERTH_CRI_DOCKER_SOCK")
    binary = os.path.join(_env("BERTH_BIN_DIR"), "berth")

    def run(*args, check=True):
        p = subprocess.run([binary, "-H", "unix://" + sock, *args], capture_output=True, text=True, timeout=120)
        if check and p.returncode != 0:
            raise AssertionError(f"berth {' '.join(args)} exited {p.returncode}: {p.stderr}")
        return p

    return run


@pytest.fixture(scope="session")
def cri_pull(img, berth):
    """cri_pull(path) -> REF: Docker's busybox:latest pushed to the loopback
    registry as REF = <registry>/<path>, then pulled through the CRI into its
    image namespace (k8s.io). The caller removes it when done."""
    def pull(path):
        ref = _env("BERTH_CRI_REGISTRY") + "/" + path
        berth("tag", "busybox:latest", ref)
        berth("push", ref)
        berth("rmi", ref)
        img.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=ref)))
        return ref
    return pull
