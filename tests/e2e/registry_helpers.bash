# shellcheck shell=bash
# A real registry for e2e tests: Debian's docker-registry (CNCF
# distribution) on 127.0.0.1, a random free port, storage under the test's
# temp root; its pid goes to $E2E_ROOT/registry.pids so that
# e2e_cleanup_root stops it by pid even after a crash.
#
#   reg_start NAME [EXTRA_YAML] [TLS_DIR]  -> sets REG_<NAME>=127.0.0.1:PORT (also in $E2E_ROOT/reg-NAME/addr);
#                                 with TLS_DIR (cert.pem, key.pem) it serves HTTPS
#   reg_dir NAME                  -> its directory (config.yml, data/, log)
#   reg_upload_blob ADDR REPO FILE        raw distribution API (curl), prints the digest
#   reg_put_manifest ADDR REPO REF TYPE FILE
#   reg_push_image ADDR REPO TAG ARCH LAYER.tar.gz...   prints the manifest digest

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

reg_dir() { echo "$E2E_ROOT/reg-$1"; }

reg_start() {
  local name=$1 extra=${2:-} tls=${3:-} dir port pid scheme=http tlsyaml=""
  require_cmd docker-registry || return 1
  if [ -n "$tls" ]; then
    scheme=https
    tlsyaml="  tls:
    certificate: $tls/cert.pem
    key: $tls/key.pem"
  fi
  dir=$(reg_dir "$name")
  mkdir -p "$dir/data"
  port=$(free_port)
  cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
$tlsyaml
$extra
YAML
  docker-registry serve "$dir/config.yml" </dev/null >"$dir/log" 2>&1 3>&- 4>&- &
  pid=$!
  disown "$pid" 2>/dev/null || true
  echo "$pid" >>"$E2E_ROOT/registry.pids"
  echo "127.0.0.1:$port" >"$dir/addr"
  local end=$((SECONDS + 20))
  until curl -sk -o /dev/null "$scheme://127.0.0.1:$port/v2/"; do
    kill -0 "$pid" 2>/dev/null || { echo "registry $name exited:" >&2; cat "$dir/log" >&2; return 1; }
    [ "$SECONDS" -lt "$end" ] || { echo "registry $name did not start" >&2; return 1; }
    sleep 0.1
  done
  printf -v "REG_${name^^}" '%s' "127.0.0.1:$port"
  export "REG_${name^^}"
}

reg_upload_blob() {
  local addr=$1 repo=$2 file=$3 digest loc
  digest="sha256:$(sha256sum "$file" | cut -d' ' -f1)"
  loc=$(curl -fsS -X POST -D - -o /dev/null "http://$addr/v2/$repo/blobs/uploads/" | tr -d '\r' |
        sed -n 's/^[Ll]ocation: //p')
  [ -n "$loc" ] || { echo "no upload location" >&2; return 1; }
  case $loc in http*) ;; *) loc="http://$addr$loc" ;; esac
  case $loc in *\?*) loc="$loc&digest=$digest" ;; *) loc="$loc?digest=$digest" ;; esac
  curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$file" "$loc" >/dev/null || return 1
  echo "$digest"
}

reg_put_manifest() {
  local addr=$1 repo=$2 ref=$3 type=$4 file=$5
  curl -fsS -X PUT -H "Content-Type: $type" --data-binary "@$file" "http://$addr/v2/$repo/manifests/$ref" >/dev/null ||
    return 1
  echo "sha256:$(sha256sum "$file" | cut -d' ' -f1)"
}

# reg_push_image ADDR REPO TAG ARCH LAYER.tar.gz...: a Docker v2 schema 2
# image whose config names ARCH; prints the manifest digest.
reg_push_image() {
  local addr=$1 repo=$2 tag=$3 arch=$4; shift 4
  local work l d diff size layers="" diffs="" cfg man
  work=$(mktemp -d "$E2E_ROOT/img.XXXXXX")
  for l in "$@"; do
    d=$(reg_upload_blob "$addr" "$repo" "$l") || return 1
    diff="sha256:$(gzip -dc "$l" | sha256sum | cut -d' ' -f1)"
    size=$(stat -c %s "$l")
    layers+="${layers:+,}{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":$size,\"digest\":\"$d\"}"
    diffs+="${diffs:+,}\"$diff\""
  done
  cfg="$work/config.json"
  printf '{"architecture":"%s","os":"linux","created":"2024-01-02T03:04:05Z","config":{"Cmd":["sh"],"Env":["PATH=/bin"],"Labels":{"e2e":"%s"}},"rootfs":{"type":"layers","diff_ids":[%s]},"history":[]}' \
    "$arch" "$repo:$tag" "$diffs" >"$cfg"
  d=$(reg_upload_blob "$addr" "$repo" "$cfg") || return 1
  man="$work/manifest.json"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":%s,"digest":"%s"},"layers":[%s]}' \
    "$(stat -c %s "$cfg")" "$d" "$layers" >"$man"
  reg_put_manifest "$addr" "$repo" "$tag" application/vnd.docker.distribution.manifest.v2+json "$man"
}

# mk_layer OUT.tar.gz FILE=CONTENT...: a small gzip layer with those files.
mk_layer() {
  local out=$1 dir kv; shift
  dir=$(mktemp -d "$E2E_ROOT/layer.XXXXXX")
  for kv in "$@"; do
    mkdir -p "$dir/$(dirname "${kv%%=*}")"
    printf '%s\n' "${kv#*=}" >"$dir/${kv%%=*}"
  done
  tar -C "$dir" --owner=0 --group=0 --mtime=2024-01-01 --sort=name -cf - . | gzip -n >"$out"
}

# reg_blob_path NAME DIGEST: the blob's data file in the registry's storage.
reg_blob_path() {
  local hex=${2#sha256:}
  echo "$(reg_dir "$1")/data/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"
}
