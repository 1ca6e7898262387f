#!/usr/bin/env bats
# POST /build (the classic builder) with the docker CLI (DOCKER_BUILDKIT=0)
# and `berth build`, plus the raw API (hostile contexts, a client that goes
# away, remote= on loopback) and docker-py. The base image is the local
# busybox of the harness; nothing leaves the machine.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
  require_cmd python3 || return 1
  require_cmd git || return 1
  e2e_setup_file || return 1
  import_busybox || { e2e_teardown_file; return 1; }
  # a loopback web server for ADD URL and remote= contexts
  mkdir -p "$E2E_ROOT/www"
  python3 -u -m http.server --bind 127.0.0.1 --directory "$E2E_ROOT/www" 0 >"$E2E_ROOT/www.log" 2>&1 &
  echo $! >"$E2E_ROOT/www.pid"
  wait_until 10 "the loopback web server to print its port" www_port_known ||
    { kill "$(cat "$E2E_ROOT/www.pid")"; e2e_teardown_file; return 1; }
}
teardown_file() {
  local pid
  pid=$(cat "$E2E_ROOT/www.pid" 2>/dev/null) && kill "$pid" 2>/dev/null
  pid=$(cat "$E2E_ROOT/gitd.pid" 2>/dev/null) && kill "$pid" 2>/dev/null
  e2e_teardown_file
}
setup() { export DOCKER_BUILDKIT=0; }
teardown() { e2e_teardown; }

www_port() { grep -oE 'port [0-9]+' "$E2E_ROOT/www.log" | head -n1 | cut -d' ' -f2; }
www_port_known() { [ -n "$(www_port)" ]; }
DATA() { echo "$E2E_ROOT/data"; }
image_id() { api GET "/v1.41/images/$1/json" | grep -oE '"Id" *: *"sha256:[0-9a-f]{64}"' | head -n1 | grep -oE 'sha256:[0-9a-f]{64}'; }
inspect() { cli berth image inspect --format "$2" "$1"; }
layer_count() { cli berth image inspect --format '{{len .RootFS.Layers}}' "$1"; }
tmp_empty() { [ -z "$(ls -A "$(DATA)/build/tmp" 2>/dev/null)" ]; }
container_count() { api GET '/v1.41/containers/json?all=1' | head -n1 | grep -oE '"Id"' | wc -l; }

# build CLIENT ARGS...: `docker build` (classic) or `berth build`.
build() { local c=$1; shift; cli "$c" build "$@"; }

seed_context() {
  local d=$1
  mkdir -p "$d"
  echo hello >"$d/hello.txt"
  cat >"$d/Dockerfile" <<'EOF'
FROM busybox
LABEL maintainer="berth@example.com"
RUN echo built > /built.txt
COPY . /src
WORKDIR /src
RUN cat hello.txt > /copied.txt
EXPOSE 8080
ENTRYPOINT ["/bin/sh", "-c"]
EOF
}

# ---------------------------------------------------------------- seed-shaped

scenario_seed() {
  local c=$1 d="$E2E_ROOT/$1-seed" id1 id2 id3 base
  seed_context "$d"
  echo "$c" >"$d/client.txt"   # each client's COPY differs: no cache shared between them
  run --separate-stderr build "$c" -t "$c-seed:1" "$d"
  assert_success
  assert_output_contains "Step 1/8 : FROM busybox"
  assert_output_contains "Step 6/8 : RUN cat hello.txt > /copied.txt"
  assert_output_contains " ---> Running in "
  assert_output_contains "Successfully built "
  assert_output_contains "Successfully tagged $c-seed:1"
  [ "$(inspect "$c-seed:1" '{{.Config.Labels.maintainer}}')" = berth@example.com ] || _e2e_fail "label"
  [ "$(inspect "$c-seed:1" '{{json .Config.ExposedPorts}}')" = '{"8080/tcp":{}}' ] || _e2e_fail "ports"
  [ "$(inspect "$c-seed:1" '{{json .Config.Entrypoint}}')" = '["/bin/sh","-c"]' ] || _e2e_fail "entrypoint"
  [ "$(inspect "$c-seed:1" '{{.Config.WorkingDir}}')" = /src ] || _e2e_fail "workdir"
  # one layer per RUN/COPY on top of busybox's
  base=$(layer_count busybox:latest)
  [ "$(layer_count "$c-seed:1")" -eq $((base + 3)) ] || _e2e_fail "layers: $(layer_count "$c-seed:1") vs $base + 3"
  run cli "$c" history --no-trunc --format '{{.CreatedBy}}' "$c-seed:1"
  assert_success
  assert_output_contains 'ENTRYPOINT ["/bin/sh" "-c"]'
  assert_output_contains '/bin/sh -c cat hello.txt > /copied.txt'
  assert_output_contains '/bin/sh -c #(nop) WORKDIR /src'
  [ "$(echo "$output" | wc -l)" -ge 7 ] || _e2e_fail "history too short: one line per step expected"
  run cli "$c" run --rm "$c-seed:1" 'cat /copied.txt /built.txt; pwd'
  assert_success
  assert_output $'hello\nbuilt\n/src'
  id1=$(image_id "$c-seed:1")

  # a fully cached rebuild: the same id, every step from the cache
  run build "$c" -t "$c-seed:2" "$d"
  assert_success
  [ "$(grep -c -- ' ---> Using cache' <<<"$output")" -eq 7 ] || _e2e_fail "expected 7 cached steps"
  refute_output_contains "Running in"
  id2=$(image_id "$c-seed:2")
  [ "$id1" = "$id2" ] || _e2e_fail "cached rebuild gave $id2, not $id1"

  # a changed file re-runs from its COPY on
  echo changed >"$d/hello.txt"
  run build "$c" -t "$c-seed:3" "$d"
  assert_success
  [ "$(grep -c -- ' ---> Using cache' <<<"$output")" -eq 2 ] || _e2e_fail "expected 2 cached steps (LABEL, RUN)"
  assert_output_contains "Running in"
  id3=$(image_id "$c-seed:3")
  [ "$id3" != "$id1" ] || _e2e_fail "changed context, same image"
  run cli "$c" run --rm "$c-seed:3" 'cat /copied.txt'
  assert_output changed
  tmp_empty || _e2e_fail "build/tmp not empty: $(ls "$(DATA)/build/tmp")"
}
@test "berth: seed-shaped build, config, layers, history, cached rebuild, changed file" { scenario_seed berth; }
@test "docker: seed-shaped build, config, layers, history, cached rebuild, changed file" { scenario_seed docker; }

# ---------------------------------------------------------------- options

scenario_stages_args() {
  local c=$1 d="$E2E_ROOT/$1-stages"
  mkdir -p "$d"
  cat >"$d/Dockerfile" <<'EOF'
FROM busybox AS base
ARG GREETING=hi
RUN echo "$GREETING" > /greeting
FROM base AS second
RUN echo second > /second
FROM busybox
COPY --from=base /greeting /final-greeting
EOF
  run build "$c" --target base --build-arg GREETING=hello -t "$c-stage:base" "$d"
  assert_success
  refute_output_contains "second"
  run cli "$c" run --rm "$c-stage:base" cat /greeting
  assert_output hello
  run cli "$c" run --rm "$c-stage:base" ls /second
  assert_status 1
  run build "$c" -t "$c-stage:final" --label stage=final "$d"
  assert_success
  run cli "$c" run --rm "$c-stage:final" cat /final-greeting
  assert_output hi
  [ "$(inspect "$c-stage:final" '{{.Config.Labels.stage}}')" = final ] || _e2e_fail "--label"
}
@test "berth: multi-stage with --target, --build-arg, --label" { scenario_stages_args berth; }
@test "docker: multi-stage with --target, --build-arg, --label" { scenario_stages_args docker; }

scenario_dockerignore() {
  local c=$1 d="$E2E_ROOT/$1-ignore"
  mkdir -p "$d/logs" "$d/keep"
  echo a >"$d/a.txt"; echo l >"$d/logs/x.log"; echo s >"$d/secret.key"; echo k >"$d/keep/k.txt"
  printf 'logs\n*.key\nDockerfile\n.dockerignore\n' >"$d/.dockerignore"
  printf 'FROM busybox\nCOPY . /ctx\nCMD ["find", "/ctx"]\n' >"$d/Dockerfile"
  run build "$c" -t "$c-ignore" "$d"
  assert_success
  run cli "$c" run --rm "$c-ignore"
  assert_success
  assert_output_contains "/ctx/a.txt"
  assert_output_contains "/ctx/keep/k.txt"
  refute_output_contains "x.log"
  refute_output_contains "secret.key"
  refute_output_contains "Dockerfile"
  refute_output_contains ".dockerignore"
}
@test "berth: .dockerignore" { scenario_dockerignore berth; }
@test "docker: .dockerignore" { scenario_dockerignore docker; }

scenario_dockerfile_outside() {
  local c=$1 d="$E2E_ROOT/$1-outside"
  mkdir -p "$d/ctx"
  echo inside >"$d/ctx/f.txt"
  printf 'FROM busybox\nCOPY . /ctx\nCMD ["ls", "-A", "/ctx"]\n' >"$d/Df.outside"
  run build "$c" -f "$d/Df.outside" -t "$c-outside" "$d/ctx"
  assert_success
  run cli "$c" run --rm "$c-outside"
  assert_output f.txt   # neither the added Dockerfile nor the generated .dockerignore
}
@test "berth: -f with a Dockerfile outside the context" { scenario_dockerfile_outside berth; }
@test "docker: -f with a Dockerfile outside the context" { scenario_dockerfile_outside docker; }

scenario_failing_run() {
  local c=$1 d="$E2E_ROOT/$1-fail"
  mkdir -p "$d"
  printf 'FROM busybox\nRUN echo before; exit 3\n' >"$d/Dockerfile"
  run --separate-stderr build "$c" "$d"
  assert_status 3
  assert_output_contains "before"
  assert_stderr_contains "The command '/bin/sh -c echo before; exit 3' returned a non-zero code: 3"
  printf 'FROM busybox\nCOPY missing /\n' >"$d/Dockerfile"
  run --separate-stderr build "$c" "$d"
  assert_status 1
  assert_stderr_contains "missing"
  printf 'FROM busybox\nBOGUS x\n' >"$d/Dockerfile"
  run --separate-stderr build "$c" "$d"
  assert_status 1
  assert_stderr_contains "unknown instruction: BOGUS"
  tmp_empty || _e2e_fail "build/tmp not empty"
}
@test "berth: failing RUN (message, exit code), COPY of a missing file, parse error" { scenario_failing_run berth; }
@test "docker: failing RUN (message, exit code), COPY of a missing file, parse error" { scenario_failing_run docker; }

scenario_quiet_iidfile() {
  local c=$1 d="$E2E_ROOT/$1-quiet"
  mkdir -p "$d"
  printf 'FROM busybox\nRUN echo quiet > /q\n' >"$d/Dockerfile"
  run --separate-stderr build "$c" -q --iidfile "$d/iid" -t "$c-quiet" "$d"
  assert_success
  [[ $output =~ ^sha256:[0-9a-f]{64}$ ]] || _e2e_fail "-q printed more than the id"
  [ "$(image_id "$c-quiet")" = "$output" ] || _e2e_fail "id differs from the tag's"
  grep -q "$(image_id "$c-quiet")" "$d/iid" || _e2e_fail "iidfile: $(cat "$d/iid")"
}
@test "berth: -q and --iidfile" { scenario_quiet_iidfile berth; }
@test "docker: -q and --iidfile" { scenario_quiet_iidfile docker; }

scenario_instructions() {
  local c=$1 d="$E2E_ROOT/$1-instr" port
  port=$(www_port)
  mkdir -p "$d/tree/sub"
  echo in-tar >"$d/tree/sub/file"
  tar -C "$d/tree" -cf "$d/tree.tar" sub
  echo from-url >"$E2E_ROOT/www/$c-url.txt"
  cat >"$d/Dockerfile" <<EOF
FROM busybox
ADD tree.tar /unpacked/
ADD http://127.0.0.1:$port/$c-url.txt /fetched.txt
HEALTHCHECK --interval=5s --retries=2 CMD true
ONBUILD RUN echo onbuild > /onbuild
RUN <<EOT
echo heredoc-one > /heredoc
echo heredoc-two >> /heredoc
EOT
EOF
  run build "$c" -t "$c-instr" "$d"
  assert_success
  run cli "$c" run --rm "$c-instr" cat /unpacked/sub/file /fetched.txt /heredoc
  assert_output $'in-tar\nfrom-url\nheredoc-one\nheredoc-two'
  [ "$(inspect "$c-instr" '{{json .Config.Healthcheck.Test}}')" = '["CMD-SHELL","true"]' ] || _e2e_fail "healthcheck"
  [ "$(inspect "$c-instr" '{{index .Config.OnBuild 0}}')" = 'RUN echo onbuild > /onbuild' ] ||
    _e2e_fail "onbuild: $(inspect "$c-instr" '{{json .Config.OnBuild}}')"
  printf 'FROM %s-instr\n' "$c" >"$d/Dockerfile.child"
  run build "$c" -f "$d/Dockerfile.child" -t "$c-child" "$d"
  assert_success
  run cli "$c" run --rm "$c-child" cat /onbuild
  assert_output onbuild
}
@test "berth: ADD tar and URL, HEALTHCHECK, ONBUILD, heredoc" { scenario_instructions berth; }
@test "docker: ADD tar and URL, HEALTHCHECK, ONBUILD, heredoc" { scenario_instructions docker; }

scenario_cache_mount_prune() {
  local c=$1 d="$E2E_ROOT/$1-cachemnt"
  mkdir -p "$d"
  printf 'FROM busybox\nARG N\nRUN --mount=type=cache,target=/cache echo "$N" >> /cache/runs && cat /cache/runs > /seen\n' >"$d/Dockerfile"
  run build "$c" --build-arg N=one -t "$c-cm:1" "$d"
  assert_success
  run build "$c" --build-arg N=two -t "$c-cm:2" "$d"
  assert_success
  run cli "$c" run --rm "$c-cm:2" cat /seen
  assert_output $'one\ntwo'
  run cli "$c" builder prune -f
  assert_success
  assert_output_contains "Total reclaimed space:"
}
@test "berth: RUN --mount=type=cache keeps files across builds; builder prune" { scenario_cache_mount_prune berth; }
@test "docker: RUN --mount=type=cache keeps files across builds; builder prune" { scenario_cache_mount_prune docker; }

# ---------------------------------------------------------------- stdin

@test "berth and docker: a Dockerfile and a tar on stdin" {
  local c
  for c in berth docker; do
    run bash -c "printf 'FROM busybox\nRUN echo stdin > /s\n' | $(cli_cmdline "$c") build -t $c-stdin -"
    assert_success
    run cli "$c" run --rm "$c-stdin" cat /s
    assert_output stdin
    mkdir -p "$E2E_ROOT/$c-tarctx"
    printf 'FROM busybox\nCOPY f /f\n' >"$E2E_ROOT/$c-tarctx/Dockerfile"
    echo tarred >"$E2E_ROOT/$c-tarctx/f"
    tar -C "$E2E_ROOT/$c-tarctx" -czf "$E2E_ROOT/$c-ctx.tgz" .
    run bash -c "$(cli_cmdline "$c") build -t $c-tarstdin - <'$E2E_ROOT/$c-ctx.tgz'"
    assert_success
    run cli "$c" run --rm "$c-tarstdin" cat /f
    assert_output tarred
  done
}

# ---------------------------------------------------------------- raw API

@test "api: hostile tar contexts are refused and leave nothing behind" {
  local d="$E2E_ROOT/hostile"
  mkdir -p "$d"
  python3 - "$d" <<'EOF'
import io, sys, tarfile
d = sys.argv[1]
def mk(name, entries):
    with tarfile.open(f"{d}/{name}.tar", "w") as t:
        for e in entries:
            t.addfile(*e)
def reg(n, data=b"x"):
    i = tarfile.TarInfo(n); i.size = len(data); return (i, io.BytesIO(data))
def link(n, target, kind=tarfile.SYMTYPE):
    i = tarfile.TarInfo(n); i.type = kind; i.linkname = target; return (i,)
df = lambda: reg("Dockerfile", b"FROM busybox\nCOPY . /c\n")
mk("dotdot", [df(), reg("../../../escaped-dotdot")])
mk("symlink-out", [df(), link("up", "../../../../../../tmp"), reg("up/escaped-symlink")])
mk("hardlink-out", [df(), link("h", "../../../../etc/passwd", tarfile.LNKTYPE)])
mk("absolute", [df(), reg("/escaped-absolute")])
EOF
  for t in dotdot symlink-out hardlink-out; do
    run api POST /v1.41/build -H 'Content-Type: application/x-tar' --data-binary "@$d/$t.tar"
    [ "${output##*$'\n'}" = 400 ] || _e2e_fail "$t: expected 400"
  done
  # an absolute name lands inside the context
  run api POST "/v1.41/build?t=abs-ok" -H 'Content-Type: application/x-tar' --data-binary "@$d/absolute.tar"
  [ "${output##*$'\n'}" = 200 ] || _e2e_fail "absolute: expected 200"
  run cli berth run --rm abs-ok ls /c
  assert_output_contains escaped-absolute
  [ ! -e /escaped-absolute ] && [ ! -e "$E2E_ROOT/escaped-dotdot" ] && [ ! -e "$(DATA)/escaped-dotdot" ] &&
    [ ! -e "$(DATA)/build/escaped-dotdot" ] && [ ! -e /tmp/escaped-symlink ] || _e2e_fail "something escaped"
  tmp_empty || _e2e_fail "build/tmp not empty"
}

@test "api: a client that goes away mid-build leaves no container" {
  local d="$E2E_ROOT/gone" before
  mkdir -p "$d"
  printf 'FROM busybox\nRUN sleep 60\n' >"$d/Dockerfile"
  tar -C "$d" -cf "$d/ctx.tar" Dockerfile
  before=$(container_count)
  curl -sS -N --unix-socket "$SOCK" -X POST "http://x/v1.41/build" -H 'Content-Type: application/x-tar' \
    --data-binary "@$d/ctx.tar" >"$d/out" 2>&1 &
  local pid=$!
  wait_until 20 "the RUN step to start" grep -q "Running in" "$d/out"
  [ "$(container_count)" -eq $((before + 1)) ] || _e2e_fail "no RUN container"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  wait_until 15 "the RUN container to be removed" eval '[ "$(container_count)" -eq '"$before"' ]'
  wait_until 10 "build/tmp to be emptied" tmp_empty
}

@test "api: query errors, version=2, prune and system df" {
  run api POST "/v1.41/build?buildargs=%7Bx" -H 'Content-Type: application/x-tar' --data-binary ''
  [ "${output##*$'\n'}" = 400 ] || _e2e_fail "expected 400"
  assert_output_contains "error reading build args: invalid character 'x' looking for beginning of object key string"
  run api POST "/v1.41/build?version=2" --data-binary ''
  [ "${output##*$'\n'}" = 400 ] || _e2e_fail "expected 400"
  run api POST "/v1.41/build/prune?all=1"
  [ "${output##*$'\n'}" = 200 ] || _e2e_fail "prune"
  assert_output_contains '"SpaceReclaimed":'
  run api GET /v1.41/system/df
  assert_output_contains '"BuildCache":['
  run cli docker system df
  assert_success
  assert_output_contains "Build Cache"
}

@test "api: remote= tarball, plain Dockerfile and git on loopback" {
  local port d="$E2E_ROOT/remote" gport
  port=$(www_port)
  mkdir -p "$d/ctx"
  printf 'FROM busybox\nCOPY f /f\n' >"$d/ctx/Dockerfile"
  echo remote-tar >"$d/ctx/f"
  tar -C "$d/ctx" -czf "$E2E_ROOT/www/ctx.tgz" .
  printf 'FROM busybox\nRUN echo plain > /p\n' >"$E2E_ROOT/www/Dockerfile.plain"
  run api POST "/v1.41/build?t=remote-tar&remote=http://127.0.0.1:$port/ctx.tgz"
  [ "${output##*$'\n'}" = 200 ] || _e2e_fail "remote tar"
  run cli berth run --rm remote-tar cat /f
  assert_output remote-tar
  run cli berth build -t remote-plain "http://127.0.0.1:$port/Dockerfile.plain"
  assert_success
  run cli berth run --rm remote-plain cat /p
  assert_output plain
  # git: a bare repository served by `git daemon` on 127.0.0.1
  git init -q -b master "$d/work"
  mkdir -p "$d/work/sub"
  printf 'FROM busybox\nCOPY g /g\n' >"$d/work/sub/Dockerfile"
  echo from-git >"$d/work/sub/g"
  git -C "$d/work" add -A
  git -C "$d/work" -c user.email=t@e -c user.name=t commit -qm init
  git clone -q --bare "$d/work" "$d/repos/ctx.git"
  gport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  git daemon --listen=127.0.0.1 --port="$gport" --base-path="$d/repos" --export-all --reuseaddr "$d/repos" \
    >"$d/gitd.log" 2>&1 &
  echo $! >"$E2E_ROOT/gitd.pid"
  wait_until 10 "git daemon to answer" git ls-remote "git://127.0.0.1:$gport/ctx.git"
  run cli berth build -t from-git "git://127.0.0.1:$gport/ctx.git#master:sub"
  assert_success
  run cli berth run --rm from-git cat /g
  assert_output from-git
  tmp_empty || _e2e_fail "build/tmp not empty"
}

@test "docker-py: images.build returns (image, logs); a failing build raises BuildError" {
  local d="$E2E_ROOT/py"
  mkdir -p "$d"
  printf 'FROM busybox\nRUN echo py > /py\n' >"$d/Dockerfile"
  run python3 - "$SOCK" "$d" <<'EOF'
import sys, docker
client = docker.DockerClient(base_url="unix://" + sys.argv[1], version="1.41")
image, logs = client.images.build(path=sys.argv[2], tag="py-built:1")
assert "py-built:1" in image.tags, image.tags
assert any("Successfully built" in l.get("stream", "") for l in logs)
open(sys.argv[2] + "/Dockerfile", "w").write("FROM busybox\nRUN exit 7\n")
try:
    client.images.build(path=sys.argv[2])
except docker.errors.BuildError as e:
    print("BuildError:", e.msg)
else:
    raise SystemExit("no BuildError")
EOF
  assert_success
  assert_output_contains "BuildError: The command '/bin/sh -c exit 7' returned a non-zero code: 7"
}

@test "no leftovers" {
  assert_no_leftovers
}
