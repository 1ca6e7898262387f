#!/usr/bin/python3
"""Times RunPodSandbox + CreateContainer + StartContainer of a one-container
busybox pod against a CRI endpoint (berthd or containerd), as kubelet makes
them; the pods are stopped and removed afterwards, untimed.

  cri_bench.py --endpoint unix:///path.sock --image REF --runs N
               [--cgroup-parent /x] [--host-network] [--log-dir DIR]

Prints one duration in ms per run on stdout. Stubs are generated from
src/cri/proto/api.proto into a temporary directory."""

import argparse
import importlib
import os
import sys
import tempfile
import time
import uuid

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def stubs():
    from grpc_tools import protoc
    out = tempfile.mkdtemp(prefix="cri-bench-stubs.")
    if protoc.main(["protoc", f"-I{REPO}/src/cri/proto", f"--python_out={out}", f"--grpc_python_out={out}",
                    "api.proto"]) != 0:
        sys.exit("protoc failed")
    sys.path.insert(0, out)
    return importlib.import_module("api_pb2"), importlib.import_module("api_pb2_grpc")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--cgroup-parent", default="")
    ap.add_argument("--host-network", action="store_true")
    ap.add_argument("--log-dir", default=tempfile.gettempdir())
    ap.add_argument("--pull", action="store_true", help="PullImage first (not timed)")
    a = ap.parse_args()

    import grpc
    pb, pbg = stubs()
    ch = grpc.insecure_channel(a.endpoint)
    grpc.channel_ready_future(ch).result(timeout=30)
    rt, img = pbg.RuntimeServiceStub(ch), pbg.ImageServiceStub(ch)
    if a.pull:
        img.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=a.image)), timeout=300)

    ns = pb.NamespaceOption(network=pb.NODE if a.host_network else pb.POD, pid=pb.CONTAINER, ipc=pb.POD)
    made = []
    try:
        for i in range(a.warmup + a.runs):
            uid = uuid.uuid4().hex
            logdir = os.path.join(a.log_dir, uid)
            os.makedirs(logdir, exist_ok=True)
            pod = pb.PodSandboxConfig(
                metadata=pb.PodSandboxMetadata(name=f"bench-{i}", uid=uid, namespace="bench", attempt=0),
                hostname=f"bench-{i}", log_directory=logdir,
                linux=pb.LinuxPodSandboxConfig(cgroup_parent=a.cgroup_parent,
                                               security_context=pb.LinuxSandboxSecurityContext(namespace_options=ns)))
            ctr = pb.ContainerConfig(metadata=pb.ContainerMetadata(name="c", attempt=0),
                                     image=pb.ImageSpec(image=a.image), command=["sleep", "600"], log_path="c.log",
                                     linux=pb.LinuxContainerConfig())
            t0 = time.perf_counter()
            sid = rt.RunPodSandbox(pb.RunPodSandboxRequest(config=pod), timeout=60).pod_sandbox_id
            made.append(sid)
            cid = rt.CreateContainer(pb.CreateContainerRequest(pod_sandbox_id=sid, config=ctr, sandbox_config=pod),
                                     timeout=60).container_id
            rt.StartContainer(pb.StartContainerRequest(container_id=cid), timeout=60)
            t1 = time.perf_counter()
            if i >= a.warmup:
                print(f"{(t1 - t0) * 1000:.2f}", flush=True)
            # one pod at a time, as the bench of berth run measures one container
            rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sid), timeout=60)
            rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=sid), timeout=60)
            made.remove(sid)
    finally:
        for sid in made:
            try:
                rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sid), timeout=60)
                rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=sid), timeout=60)
            except grpc.RpcError as e:
                print(f"cleanup of {sid}: {e.details()}", file=sys.stderr)


if __name__ == "__main__":
    main()
