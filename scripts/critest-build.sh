#!/usr/bin/env bash
# critest-build.sh: build critest and crictl of cri-tools v1.32.0 offline,
# from the vendored source tree, as upstream's Makefile does (critest is a
# compiled Go test binary of ./cmd/critest, crictl a plain build).
#
#   CRI_TOOLS_GIT  git dir of a kubernetes-sigs/cri-tools clone holding tag
#                  v1.32.0 (default: the session's fetched mirror,
#                  /work/.mirror/kubernetes-sigs+cri-tools/repo)
#   CRI_TOOLS_SRC  where the tag is unpacked (default /work/critest-src)
#   CRITEST_BIN    output folder (default /work/critest-bin): critest, crictl, ginkgo
#
# Needs Go >= 1.23 (scripts/critest-setup.sh). Uses no network:
# GOFLAGS=-mod=vendor GOPROXY=off GOTOOLCHAIN=local. At most 2 build jobs.
# Idempotent: an existing source tree is reused, binaries are rebuilt only
# when missing (FORCE=1 rebuilds). Not part of CI. See docs/cri.md.
set -euo pipefail

TAG=v1.32.0
CRI_TOOLS_GIT=${CRI_TOOLS_GIT:-/work/.mirror/kubernetes-sigs+cri-tools/repo}
CRI_TOOLS_SRC=${CRI_TOOLS_SRC:-/work/critest-src}
CRITEST_BIN=${CRITEST_BIN:-/work/critest-bin}
GO=${GO:-/usr/lib/go-1.23/bin/go}

[ -x "$GO" ] || { echo "critest-build: $GO missing; run scripts/critest-setup.sh" >&2; exit 1; }

if [ ! -f "$CRI_TOOLS_SRC/cmd/critest/cri_test.go" ]; then
  git --git-dir="$CRI_TOOLS_GIT" rev-parse -q --verify "refs/tags/$TAG" >/dev/null ||
    { echo "critest-build: tag $TAG not in $CRI_TOOLS_GIT" >&2; exit 1; }
  rm -rf "$CRI_TOOLS_SRC.tmp"
  mkdir -p "$CRI_TOOLS_SRC.tmp"
  git --git-dir="$CRI_TOOLS_GIT" archive "$TAG" | tar -x -C "$CRI_TOOLS_SRC.tmp"
  rm -rf "$CRI_TOOLS_SRC"
  mv "$CRI_TOOLS_SRC.tmp" "$CRI_TOOLS_SRC"
fi

export GOFLAGS="-mod=vendor -trimpath" GOPROXY=off GOTOOLCHAIN=local
export GO111MODULE=on CGO_ENABLED=0 GOMAXPROCS=2
export GOCACHE=${GOCACHE:-/work/critest-gocache} GOPATH=${GOPATH:-/work/critest-gopath}
ldflags="-X sigs.k8s.io/cri-tools/pkg/version.Version=${TAG#v}"
mkdir -p "$CRITEST_BIN"
cd "$CRI_TOOLS_SRC"

if [ "${FORCE:-0}" = 1 ] || [ ! -x "$CRITEST_BIN/critest" ]; then
  "$GO" test -p 2 -c -o "$CRITEST_BIN/critest" -ldflags "$ldflags" sigs.k8s.io/cri-tools/cmd/critest
fi
if [ "${FORCE:-0}" = 1 ] || [ ! -x "$CRITEST_BIN/crictl" ]; then
  "$GO" build -p 2 -o "$CRITEST_BIN/crictl" -ldflags "$ldflags" sigs.k8s.io/cri-tools/cmd/crictl
fi
# critest -parallel N (N > 1) runs the ginkgo CLI from PATH; it is vendored too.
if [ "${FORCE:-0}" = 1 ] || [ ! -x "$CRITEST_BIN/ginkgo" ]; then
  "$GO" build -p 2 -o "$CRITEST_BIN/ginkgo" github.com/onsi/ginkgo/v2/ginkgo
fi
"$CRITEST_BIN/crictl" --version
"$CRITEST_BIN/critest" -version
