#!/usr/bin/env bats
# Remote access (docs/security.md): docker's contexts shared by the berth
# CLI and the docker CLI 28 (DOCKER_CONFIG is this file's own directory),
# mutual TLS through a context while the unix socket serves too, the
# precedence of -H, --context, DOCKER_HOST, DOCKER_CONTEXT and
# currentContext, and ssh:// through a private sshd on loopback.
#
# The sshd: Debian's openssh-server run by this file on a free loopback
# port, in a private mount namespace whose /run is a fresh tmpfs (sshd
# needs /run/sshd; nothing of the host's /run is touched), with its own
# host key, one authorized key and every option given with -o (-f
# /dev/null: /etc/ssh is not read). It is stopped by pid (sshd.pids, also
# read by e2e_cleanup_root). The clients reach it through an `ssh` wrapper
# first on PATH that adds `-F` with this file's client config (key,
# known_hosts, BatchMode). On the far side sshd's SetEnv puts a directory
# first on PATH where `berth` is the built CLI and `docker` is a wrapper
# running `berth -H unix://$SOCK "$@"` (the docker CLI runs `docker system
# dial-stdio` there); BERTH_HOST there names a socket that does not exist,
# so berth's own ssh:// URLs must carry the socket path (ssh://H:P/SOCK).

bats_require_minimum_version 1.5.0
load helpers

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_sshd: see the header.
start_sshd() {
  local d="$E2E_ROOT/ssh"
  mkdir -p "$d/client-bin" "$d/remote-bin"
  ssh-keygen -q -t ed25519 -N '' -C berth-e2e-host -f "$d/host_key" || return 1
  ssh-keygen -q -t ed25519 -N '' -C berth-e2e-user -f "$d/user_key" || return 1
  cp "$d/user_key.pub" "$d/authorized_keys"
  SSH_PORT=$(free_port)
  echo "[127.0.0.1]:$SSH_PORT $(cut -d' ' -f1,2 "$d/host_key.pub")" >"$d/known_hosts"
  cat >"$d/config" <<EOF
Host *
  IdentityFile $d/user_key
  IdentitiesOnly yes
  UserKnownHostsFile $d/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  ControlMaster no
  LogLevel ERROR
EOF
  printf '#!/bin/sh\nexec /usr/bin/ssh -F %q "$@"\n' "$d/config" >"$d/client-bin/ssh"
  ln -s "$BERTH_BIN_DIR/berth" "$d/remote-bin/berth"
  printf '#!/bin/sh\nexec %q -H %q "$@"\n' "$BERTH_BIN_DIR/berth" "unix://$SOCK" >"$d/remote-bin/docker"
  chmod +x "$d/client-bin/ssh" "$d/remote-bin/docker"
  unshare --mount --propagation private sh -c 'mount -t tmpfs -o mode=755 tmpfs /run && mkdir -m 755 /run/sshd && exec "$@"' sh \
    /usr/sbin/sshd -D -e -f /dev/null -p "$SSH_PORT" -o ListenAddress=127.0.0.1 -o "HostKey=$d/host_key" \
    -o "AuthorizedKeysFile=$d/authorized_keys" -o StrictModes=no -o UsePAM=no -o PasswordAuthentication=no \
    -o KbdInteractiveAuthentication=no -o PermitRootLogin=prohibit-password -o PidFile=none \
    -o "SetEnv=PATH=$d/remote-bin:/usr/bin:/bin BERTH_HOST=unix://$E2E_ROOT/none.sock SHLVL=1" \
    </dev/null >>"$d/sshd.log" 2>&1 3>&- 4>&- &
  echo "$!" >>"$E2E_ROOT/sshd.pids"
  export SSH_PORT SSH_DIR="$d" SSH_USER
  SSH_USER=$(id -un)
  wait_until 10 "sshd to accept our key" eval \
    '"$d/client-bin/ssh" -p "$SSH_PORT" "$SSH_USER@127.0.0.1" true 2>/dev/null'
}

setup_file() {
  require_cmd python3
  require_cmd openssl
  require_cmd jq
  require_cmd ssh openssh-client
  require_cmd ssh-keygen openssh-client
  [ -x /usr/sbin/sshd ] || { echo "MISSING TOOL: /usr/sbin/sshd (Debian package openssh-server)" >&2; return 1; }
  require_cmd unshare util-linux
  e2e_setup_file || return 1
  # The same berthd again, now also on TCP with mutual TLS (the busybox
  # image stays in its data-root).
  CERTS="$E2E_ROOT/certs"
  e2e_make_tls_certs "$CERTS" || return 1
  TLS_PORT=$(free_port)
  export CERTS TLS_PORT
  _e2e_stop_pid "$BERTHD_PID" berthd
  export E2E_BERTHD_ARGS="-H tcp://127.0.0.1:$TLS_PORT --tlsverify --tlscacert $CERTS/ca.pem --tlscert $CERTS/server-cert.pem --tlskey $CERTS/server-key.pem"
  berthd_start || return 1
  start_sshd || return 1
}
teardown_file() {
  for pid in $(cat "$E2E_ROOT/sshd.pids" 2>/dev/null); do _e2e_stop_pid "$pid" sshd; done
  e2e_teardown_file
}
teardown() { e2e_teardown; }

B() { timeout -k 5 60 "$BERTH_BIN_DIR/berth" "$@"; }
D() { timeout -k 5 60 "$DOCKER_BIN" "$@"; }
tls_spec() { echo "host=tcp://127.0.0.1:$TLS_PORT,ca=$CERTS/ca.pem,cert=$CERTS/cert.pem,key=$CERTS/key.pem"; }
ctx_hex() { printf '%s' "$1" | sha256sum | cut -c1-64; }

# same CMD...: runs CMD with the berth CLI and with the docker CLI (first
# word replaced) and requires equal status, stdout and stderr (berth's
# name for itself aside).
same() {
  local b d
  run --separate-stderr B "$@"
  b="$status|$output|${stderr//berth/docker}"
  run --separate-stderr D "$@"
  d="$status|$output|$stderr"
  [ "$b" = "$d" ] || { printf 'berth:  %s\ndocker: %s\n' "$b" "$d" >&2; return 1; }
}

# ---------------------------------------------------------------- TLS contexts

@test "context made by berth (mutual TLS) drives the docker CLI and berth; the unix socket serves meanwhile" {
  run --separate-stderr B context create tlsctx --description "berth made" --docker "$(tls_spec)"
  assert_success
  assert_output tlsctx
  [ "$stderr" = 'Successfully created context "tlsctx"' ]
  local hex
  hex=$(ctx_hex tlsctx)
  [ "$(jq -c . "$DOCKER_CONFIG/contexts/meta/$hex/meta.json")" = \
    "{\"Name\":\"tlsctx\",\"Metadata\":{\"Description\":\"berth made\"},\"Endpoints\":{\"docker\":{\"Host\":\"tcp://127.0.0.1:$TLS_PORT\",\"SkipTLSVerify\":false}}}" ]
  for f in ca cert key; do cmp "$CERTS/$f.pem" "$DOCKER_CONFIG/contexts/tls/$hex/docker/$f.pem"; done
  [ "$(stat -c %a "$DOCKER_CONFIG/contexts/tls/$hex/docker/key.pem")" = 600 ]

  run D --context tlsctx run --rm busybox echo docker via context
  assert_success
  assert_output "docker via context"
  cid=$(D --context tlsctx run -d busybox sleep 30)
  run B --context tlsctx exec "$cid" echo berth via context
  assert_success
  assert_output "berth via context"
  run bash -c "echo from-stdin | timeout 30 $BERTH_BIN_DIR/berth --context tlsctx run --rm -i busybox cat"
  assert_success
  assert_output from-stdin
  # the unix socket at the same time
  run berth_cmd exec "$cid" echo over unix
  assert_output "over unix"
  run docker_cmd ps -q --no-trunc
  assert_output_contains "$cid"
  berth_cmd rm -f "$cid" >/dev/null

  # the context really is TLS: one without certificates is refused
  B context create plain --docker "host=tcp://127.0.0.1:$TLS_PORT" >/dev/null 2>&1
  run B --context plain ps
  assert_status 1
  run D --context plain ps
  assert_status 1
}

@test "context made by the docker CLI drives berth through context use, DOCKER_CONTEXT and --context" {
  run D context create dctx --docker "$(tls_spec)"
  assert_success
  run --separate-stderr B context use dctx
  assert_success
  assert_output dctx
  [ "$stderr" = 'Current context is now "dctx"' ]
  [ "$(jq -r .currentContext "$DOCKER_CONFIG/config.json")" = dctx ]
  [ "$(D context show)" = dctx ]
  run B run --rm busybox echo berth via current context
  assert_success
  assert_output "berth via current context"
  B context use default >/dev/null 2>&1
  [ "$(jq -r .currentContext "$DOCKER_CONFIG/config.json")" = null ]
  run env DOCKER_CONTEXT=dctx "$BERTH_BIN_DIR/berth" version --format '{{.Server.Os}}'
  assert_success
  assert_output linux
  run B --context dctx version --format '{{.Client.Context}} {{.Server.Os}}'
  assert_success
  assert_output "dctx linux"
  run B context inspect dctx --format '{{.TLSMaterial.docker}}'
  assert_output "[ca.pem cert.pem key.pem]"
}

@test "precedence -H > --context > DOCKER_HOST > DOCKER_CONTEXT > currentContext, same in both CLIs" {
  B context create good --docker "$(tls_spec)" >/dev/null 2>&1
  B context create dead --docker host=tcp://127.0.0.1:9 >/dev/null 2>&1
  D context use dead >/dev/null 2>&1
  local c
  for c in B D; do
    run $c ps -q
    assert_status 1                                        # currentContext: dead
    DOCKER_CONTEXT=good run $c ps -q
    assert_success                                         # DOCKER_CONTEXT > currentContext
    DOCKER_CONTEXT=good DOCKER_HOST=tcp://127.0.0.1:9 run $c ps -q
    assert_status 1                                        # DOCKER_HOST > DOCKER_CONTEXT
    DOCKER_HOST=tcp://127.0.0.1:9 run $c --context good ps -q
    assert_success                                         # --context > DOCKER_HOST
    run $c -H "unix://$SOCK" ps -q
    assert_success                                         # -H > currentContext
    DOCKER_HOST="unix://$SOCK" run $c ps -q
    assert_success
  done
  same --context good -H "unix://$SOCK" ps -q               # both: conflicting options
  [ "$status" -eq 1 ]
  DOCKER_CONTEXT=nope same ps -q                            # a missing context: docker's message
  [[ $stderr == 'Failed to initialize: unable to resolve docker endpoint: context "nope": context not found: open '*'/meta.json: no such file or directory' ]]
  D context use default >/dev/null 2>&1
}

@test "context ls, inspect, show, use, rm and create errors: berth prints what the docker CLI prints" {
  B context create cmp1 --description "one" --docker "$(tls_spec)" >/dev/null 2>&1
  D context create cmp2 --docker "host=ssh://someone@127.0.0.1:22,skip-tls-verify=true" >/dev/null 2>&1
  export DOCKER_HOST="unix://$SOCK"   # both CLIs' default context then names the same endpoint
  same context ls
  assert_output_contains "cmp1        one"
  same context ls -q
  same context ls --format json
  same context ls --format '{{.Name}}:{{.Current}}'
  same context inspect cmp1 cmp2
  same context inspect --format '{{.Name}} {{.Endpoints.docker.Host}} {{.Endpoints.docker.SkipTLSVerify}}' cmp2
  same context inspect default
  same context inspect nope
  assert_status 1
  same context show
  unset DOCKER_HOST
  same context create cmp1 --docker host=tcp://127.0.0.1:1
  assert_status 1
  same context create 'bad name'
  same context create default
  same context create x1 --docker foo=bar
  same context create x1 --docker "host=tcp://127.0.0.1:1,ca=$E2E_ROOT/nonexistent.pem"
  same context create x1 --docker host=tcp://127.0.0.1:1,skip-tls-verify=maybe
  same context create x1 --docker host=127.0.0.1
  same context rm nope
  same context rm default
  same context use nope
  assert_status 1
  D context use cmp1 >/dev/null 2>&1
  same context rm cmp1                                      # in use, no -f
  run B context rm -f cmp1
  assert_success
  assert_output cmp1
  [ "$(jq -r .currentContext "$DOCKER_CONFIG/config.json")" = null ]
  [ ! -e "$DOCKER_CONFIG/contexts/meta/$(ctx_hex cmp1)" ] && [ ! -e "$DOCKER_CONFIG/contexts/tls/$(ctx_hex cmp1)" ]
  run D context ls -q
  refute_output_contains cmp1
}

# ---------------------------------------------------------------- ssh://

@test "ssh:// with the berth CLI and the docker CLI: run, stdin, a context, errors" {
  local P="$SSH_DIR/client-bin:$PATH" url="ssh://$SSH_USER@127.0.0.1:$SSH_PORT"
  # berth runs `berth --host=unix://$SOCK system dial-stdio` on the far side
  run env PATH="$P" "$BERTH_BIN_DIR/berth" -H "$url$SOCK" run --rm busybox echo berth over ssh
  assert_success
  assert_output "berth over ssh"
  run bash -c "echo from-stdin | PATH=$P timeout 30 $BERTH_BIN_DIR/berth -H $url$SOCK run --rm -i busybox cat"
  assert_success
  assert_output from-stdin
  # without the path the far side's default socket does not exist: dial-stdio's error
  run --separate-stderr env PATH="$P" "$BERTH_BIN_DIR/berth" -H "$url" ps
  assert_status 1
  [[ $stderr == *"has exited with exit status 1"*"failed to open the raw stream connection"* ]]
  # the docker CLI runs `docker system dial-stdio` there (the wrapper)
  run bash -c "echo docker over ssh | PATH=$P timeout 30 $DOCKER_BIN -H $url run --rm -i busybox cat"
  assert_success
  assert_output "docker over ssh"
  # a context with an ssh host, made by docker, used by both
  D context create sshctx --docker "host=$url$SOCK" >/dev/null 2>&1
  run env PATH="$P" "$BERTH_BIN_DIR/berth" --context sshctx version --format '{{.Server.Os}}'
  assert_success
  assert_output linux
  run env PATH="$P" timeout 60 "$DOCKER_BIN" --context sshctx ps -q
  assert_success
  # nobody listens: ssh's own error comes back
  local dead
  dead=$(free_port)
  run --separate-stderr env PATH="$P" "$BERTH_BIN_DIR/berth" -H "ssh://$SSH_USER@127.0.0.1:$dead" ps
  assert_status 1
  [[ $stderr == *"exit status 255"*"Connection refused"* ]]
  run env PATH="$P" "$BERTH_BIN_DIR/berth" -H "ssh://a:b@127.0.0.1" ps
  assert_status 1
  assert_output "ssh host connection is not valid: plain-text password is not supported"
  # no ssh client or dial-stdio left behind
  wait_until 10 "the ssh clients and dial-stdio proxies to end" eval '! ssh_leftovers'
}

# ssh_leftovers: prints and succeeds when an ssh client of this file or a
# dial-stdio proxy still runs.
ssh_leftovers() {
  local f c found=1
  for f in /proc/[0-9]*/cmdline; do
    c=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
    if [[ $c == *"dial-stdio"* || $c == *"-F $SSH_DIR/config"* ]]; then echo "$f: $c"; found=0; fi
  done
  return $found
}

@test "no leftovers; the harness's own cleanup stops this file's sshd (its title is 'sshd: ...')" {
  assert_no_leftovers
  local pid
  pid=$(head -n1 "$E2E_ROOT/sshd.pids")
  _e2e_is_cmd "$pid" sshd   # the recorded pid is the running sshd
  _e2e_stop_pid "$pid" sshd
  wait_until 10 "sshd $pid to exit" eval "! _e2e_is_cmd $pid sshd"
}
