#!/usr/bin/env bash
# Pull throughput from a local registry: berthd against the CPU floor (and
# dockerd, when one answers on $DOCKERD_SOCK, default /var/run/docker.sock;
# bench/with-dockerd.sh bench/pull-bench.sh starts a private one).
#
#   bench/pull-bench.sh [-n RUNS] [-m MB_PER_LAYER] [-l LAYERS]
#
# Starts Debian's docker-registry on a free 127.0.0.1 port (temp storage),
# builds an image of LAYERS (default 5) gzip layers of about MB_PER_LAYER
# (default 60) MB uncompressed each (half random, half compressible text,
# many files), pushes it with curl, then RUNS times (default 3) pulls it with
# a private berthd into an empty data root and reports the median wall time
# and MB/s (compressed bytes). The floor is measured on the same blobs:
# sha256 of the compressed blob + gunzip + sha256 of the tar, layers in
# parallel like the pull (wall) and the summed CPU time of one pass.
# Docker, when present: `docker pull` of the same image after `docker rmi`.
# Everything it started is stopped by pid; everything it wrote is removed.
#
# Environment: BUILD_DIR (default build), BENCH_TMP (default /tmp).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=3 MB=60 LAYERS=5
while [ $# -gt 0 ]; do
  case $1 in
    -n) RUNS=$2; shift 2 ;;
    -m) MB=$2; shift 2 ;;
    -l) LAYERS=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "usage: $0 [-n RUNS] [-m MB_PER_LAYER] [-l LAYERS]" >&2; exit 2 ;;
  esac
done
BIN=${BUILD_DIR:-build}/bin
BIN=$(cd "$BIN" && pwd)
work=$(mktemp -d "${BENCH_TMP:-/tmp}/pb.XXXXXX")
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
REG=127.0.0.1:$port
cat >"$work/reg.yml" <<YAML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/regdata}}
http: {addr: "$REG"}
YAML
docker-registry serve "$work/reg.yml" >"$work/reg.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -s -o /dev/null "http://$REG/v2/" && break; sleep 0.1; done

echo "bench: generating $LAYERS layers of ~$MB MB" >&2
layers=()
for i in $(seq "$LAYERS"); do
  d="$work/gen$i"
  mkdir -p "$d"
  python3 - "$d" "$MB" "$i" <<'PY'
import os, random, sys
d, mb, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(seed)
words = [("w%d" % rnd.randrange(5000)).encode() for _ in range(20000)]
text = b" ".join(rnd.choice(words) for _ in range(400000))
total, n = 0, 0
while total < mb * 1024 * 1024:
    size = rnd.choice([4096, 65536, 1 << 20])
    sub = os.path.join(d, "d%d" % (n % 40)); os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, "f%d" % n), "wb") as f:
        if n % 2:
            f.write(os.urandom(size))
        else:
            off = rnd.randrange(len(text) - size)
            f.write(text[off:off + size])
    total += size; n += 1
PY
  tar -C "$d" --owner=0 --group=0 --sort=name -cf - . | gzip -n -6 >"$work/layer$i.tar.gz"
  rm -rf "$d"
  layers+=("$work/layer$i.tar.gz")
done

upload() {  # FILE -> digest
  local f=$1 digest loc
  digest="sha256:$(sha256sum "$f" | cut -d' ' -f1)"
  loc=$(curl -fsS -X POST -D - -o /dev/null "http://$REG/v2/bench/img/blobs/uploads/" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
  case $loc in http*) ;; *) loc="http://$REG$loc" ;; esac
  case $loc in *\?*) loc="$loc&digest=$digest" ;; *) loc="$loc?digest=$digest" ;; esac
  curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$f" "$loc" >/dev/null
  echo "$digest"
}
ljson="" diffs="" total=0
for f in "${layers[@]}"; do
  d=$(upload "$f"); s=$(stat -c %s "$f"); total=$((total + s))
  ljson+="${ljson:+,}{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":$s,\"digest\":\"$d\"}"
  diffs+="${diffs:+,}\"sha256:$(gzip -dc "$f" | sha256sum | cut -d' ' -f1)\""
done
printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[%s]}}' "$diffs" >"$work/cfg.json"
cd_=$(upload "$work/cfg.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":%s,"digest":"%s"},"layers":[%s]}' \
  "$(stat -c %s "$work/cfg.json")" "$cd_" "$ljson" >"$work/man.json"
curl -fsS -X PUT -H 'Content-Type: application/vnd.docker.distribution.manifest.v2+json' \
  --data-binary "@$work/man.json" "http://$REG/v2/bench/img/manifests/v1" >/dev/null
MBc=$(python3 -c "print(round($total/1e6, 1))")
echo "bench: image $REG/bench/img:v1, $LAYERS layers, $MBc MB compressed" >&2

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }

# CPU floor: sha256(blob) + gunzip + sha256(tar), one pass per layer.
floor_wall=() floor_cpu=()
for r in $(seq "$RUNS"); do
  t0=$(now)
  TIMEFORMAT=%U+%S
  cpu=$( { time (for f in "${layers[@]}"; do (sha256sum "$f" >/dev/null & gzip -dc "$f" | sha256sum >/dev/null; wait) & done; wait) ; } 2>&1 )
  t1=$(now)
  floor_wall+=("$(python3 -c "print($t1-$t0)")")
  floor_cpu+=("$(python3 -c "print($cpu)")")
done

berth_wall=()
for r in $(seq "$RUNS"); do
  root="$work/b$r"; mkdir -p "$root"
  "$BIN/berthd" --host "unix://$root/s.sock" --data-root "$root/data" --exec-root "$root/exec" \
    --pidfile "$root/pid" --cgroup-parent "berth-pullbench-$$" --log-level error >"$root/log" 2>&1 &
  bp=$!; pids+=("$bp")
  for _ in $(seq 100); do [ "$(curl -s --unix-socket "$root/s.sock" http://x/_ping)" = OK ] && break; sleep 0.05; done
  t0=$(now)
  "$BIN/berth" -H "unix://$root/s.sock" pull -q "$REG/bench/img:v1" >/dev/null
  t1=$(now)
  berth_wall+=("$(python3 -c "print($t1-$t0)")")
  kill "$bp"; wait "$bp" 2>/dev/null || true
  rm -rf --one-file-system "$root"
done

docker_wall=()
DOCKERD_SOCK=${DOCKERD_SOCK:-/var/run/docker.sock}
dk() { "${DOCKER_BIN:-/usr/local/bin/docker}" -H "unix://$DOCKERD_SOCK" "$@"; }
if curl -s --max-time 2 --unix-socket "$DOCKERD_SOCK" http://x/_ping >/dev/null 2>&1; then
  for r in $(seq "$RUNS"); do
    dk rmi -f "$REG/bench/img:v1" >/dev/null 2>&1 || true
    t0=$(now); dk pull -q "$REG/bench/img:v1" >/dev/null; t1=$(now)
    docker_wall+=("$(python3 -c "print($t1-$t0)")")
  done
  dk rmi -f "$REG/bench/img:v1" >/dev/null 2>&1 || true
fi

bw=$(printf '%s\n' "${berth_wall[@]}" | median)
fw=$(printf '%s\n' "${floor_wall[@]}" | median)
fc=$(printf '%s\n' "${floor_cpu[@]}" | median)
printf '%-34s %8s %10s\n' "pull of $MBc MB, $LAYERS layers" "wall s" "MB/s"
printf '%-34s %8.2f %10.1f\n' "berth pull (berthd, 3 parallel)" "$bw" "$(python3 -c "print($total/1e6/$bw)")"
printf '%-34s %8.2f %10.1f\n' "floor: sha256+gunzip+sha256 (par)" "$fw" "$(python3 -c "print($total/1e6/$fw)")"
printf '%-34s %8.2f\n' "floor: CPU seconds (user+sys)" "$fc"
printf 'berth / floor (wall): %.2fx\n' "$(python3 -c "print($bw/$fw)")"
if [ ${#docker_wall[@]} -gt 0 ]; then
  dw=$(printf '%s\n' "${docker_wall[@]}" | median)
  printf '%-34s %8.2f %10.1f\n' "docker pull" "$dw" "$(python3 -c "print($total/1e6/$dw)")"
  printf 'docker / berth: %.2fx\n' "$(python3 -c "print($dw/$bw)")"
else
  echo "docker: no dockerd on $DOCKERD_SOCK, not measured"
fi
