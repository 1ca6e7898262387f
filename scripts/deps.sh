# shellcheck shell=bash
# The Debian 12 packages berth needs to build and test; sourced by
# scripts/setup.sh (installs them) and scripts/test.sh (checks them).
# Every name was checked to exist in bookworm.
BERTH_DEBIAN_PACKAGES=(
  # toolchain
  build-essential cmake pkg-config
  # libraries (DESIGN.md "Chosen dependencies")
  libboost-dev nlohmann-json3-dev libsqlite3-dev libssl-dev libarchive-dev
  libseccomp-dev libcap-dev libcurl4-openssl-dev libfmt-dev libspdlog-dev
  libcli11-dev libnl-route-3-dev libnftables-dev
  # tests
  libgtest-dev libgmock-dev bats parallel busybox-static python3 tmux util-linux
  iproute2 curl procps skopeo docker-registry openssl python3-cryptography jq
  # POST /build remote= git contexts (berthd runs git; build.bats serves a repo)
  git
  # build_run.bats: a compose project with a `build:` service (1.29, python;
  # setup.sh installs without recommends, so no docker.io comes with it)
  docker-compose
  # tests/py: the docker-py suite (python3-docker comes with docker-compose)
  python3-pytest python3-docker
  # external OCI runtimes (--runtime runc|crun)
  runc crun
  # remote.bats: ssh:// through a private sshd on loopback; the test runs
  # sshd itself and never uses the package's service (on a systemd host
  # the package enables ssh.service; setup.sh disables it when it installed it)
  openssh-client openssh-server
  # libFuzzer targets (tests/fuzz, build-fuzz/): clang with its sanitizer runtimes
  clang-14 libclang-rt-14-dev
  # the CRI front end (src/cri/, berth-cri.so): gRPC and protobuf, the CNI
  # plugins pods use, and tests/cri's Python client (stubs generated at start)
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  containernetworking-plugins python3-grpcio python3-grpc-tools
)

# berth_missing_packages: print the packages of the list that are not installed.
berth_missing_packages() {
  local p
  for p in "${BERTH_DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}
