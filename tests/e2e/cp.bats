#!/usr/bin/env bats
# docker cp through the archive API: files and directories both ways, into
# running and stopped containers, symlinks (-L, and links pointing at the
# host's /etc that must stay inside the container), tar on stdin/stdout,
# -a ownership, and the error paths.

bats_require_minimum_version 1.5.0
load helpers

setup_file() { e2e_setup_file; }
teardown_file() { e2e_teardown_file; }
setup() { remove_all_containers; }
teardown() { e2e_teardown; }

# A running container with a few things to copy out.
start_box() {
  local c=$1 n=$2
  run cli "$c" run -d --name "$n" busybox sh -c \
    'mkdir -p /tmp/d/sub && echo inside > /tmp/d/f && echo deep > /tmp/d/sub/g && ln -s /etc /tmp/hostetc &&
     ln -s /tmp/d/f /tmp/flink && echo ready && sleep 300'
  assert_success
  wait_until 10 "container $n to print ready" logs_ready "$c" "$n"
}
logs_ready() { [[ $(cli "$1" logs "$2" 2>&1) == *ready* ]]; }

scenario_file_and_dir() {
  local c=$1 n="cp-$1" h="$E2E_ROOT/cp-$1"
  mkdir -p "$h/in/sub"
  echo "from host" > "$h/file"
  echo "a" > "$h/in/a"
  echo "b" > "$h/in/sub/b"
  start_box "$c" "$n"
  # file in, then out again
  run cli "$c" cp "$h/file" "$n:/tmp/copied"
  assert_success
  run cli "$c" exec "$n" cat /tmp/copied
  assert_output "from host"
  run cli "$c" cp "$n:/tmp/copied" "$h/back"
  assert_success
  [ "$(cat "$h/back")" = "from host" ] || _e2e_fail "file copied out differs"
  # into an existing directory keeps the name
  run cli "$c" cp "$h/file" "$n:/tmp/d"
  assert_success
  run cli "$c" exec "$n" cat /tmp/d/file
  assert_output "from host"
  # a directory in: a new name, then into an existing directory
  run cli "$c" cp "$h/in" "$n:/tmp/newdir"
  assert_success
  run cli "$c" exec "$n" cat /tmp/newdir/a /tmp/newdir/sub/b
  assert_output $'a\nb'
  run cli "$c" cp "$h/in" "$n:/tmp/d"
  assert_success
  run cli "$c" exec "$n" cat /tmp/d/in/sub/b
  assert_output "b"
  # a directory out; "/." copies its contents
  run cli "$c" cp "$n:/tmp/d" "$h/out"
  assert_success
  [ "$(cat "$h/out/f")" = inside ] && [ "$(cat "$h/out/sub/g")" = deep ] || _e2e_fail "dir out"
  mkdir "$h/contents"
  run cli "$c" cp "$n:/tmp/d/sub/." "$h/contents"
  assert_success
  [ "$(cat "$h/contents/g")" = deep ] || _e2e_fail "contents of dir/. out"
  # a missing parent on the host is an error, nothing half-written
  run cli "$c" cp "$n:/tmp/d/f" "$h/nope/x"
  assert_status 1
  [ ! -e "$h/nope" ] || _e2e_fail "created a missing parent"
}
@test "berth: cp a file and a directory in and out of a running container" { scenario_file_and_dir berth; }
@test "docker: cp a file and a directory in and out of a running container" { scenario_file_and_dir docker; }

scenario_symlinks() {
  local c=$1 n="cpl-$1" h="$E2E_ROOT/cpl-$1" marker="berth-cp-escape-$$-$1"
  mkdir -p "$h"
  echo "must stay inside" > "$h/$marker"
  start_box "$c" "$n"
  # /tmp/hostetc -> /etc: copying through it lands in the container's /etc
  run cli "$c" cp "$h/$marker" "$n:/tmp/hostetc/"
  assert_success
  [ ! -e "/etc/$marker" ] || { rm -f "/etc/$marker"; _e2e_fail "cp wrote to the host's /etc"; }
  run cli "$c" exec "$n" cat "/etc/$marker"
  assert_output "must stay inside"
  # reading through it gives the container's file, not the host's
  run cli "$c" cp "$n:/tmp/hostetc/$marker" "$h/read-back"
  assert_success
  [ "$(cat "$h/read-back")" = "must stay inside" ] || _e2e_fail "read through the link"
  run cli "$c" cp "$n:/tmp/hostetc/hostname" "$h/hn"
  assert_success
  [ "$(cat "$h/hn")" = "$(cli "$c" exec "$n" cat /etc/hostname)" ] || _e2e_fail "hostname is not the container's"
  # a relative link climbing with .. stops at the container root
  run cli "$c" exec "$n" ln -s ../../../../../../../etc /tmp/up
  assert_success
  run cli "$c" cp "$h/$marker" "$n:/tmp/up/$marker-2"
  assert_success
  [ ! -e "/etc/$marker-2" ] || { rm -f "/etc/$marker-2"; _e2e_fail "cp wrote to the host's /etc via .."; }
  run cli "$c" exec "$n" cat "/etc/$marker-2"
  assert_output "must stay inside"
  # a link is copied as a link; -L copies its target
  run cli "$c" cp "$n:/tmp/flink" "$h/nolink"
  assert_success
  [ -L "$h/nolink" ] && [ "$(readlink "$h/nolink")" = /tmp/d/f ] || _e2e_fail "link not kept as a link"
  run cli "$c" cp -L "$n:/tmp/flink" "$h/followed"
  assert_success
  [ ! -L "$h/followed" ] && [ "$(cat "$h/followed")" = inside ] || _e2e_fail "-L did not follow"
}
@test "berth: cp through symlinks stays inside the container; -L follows" { scenario_symlinks berth; }
@test "docker: cp through symlinks stays inside the container; -L follows" { scenario_symlinks docker; }

scenario_stopped() {
  local c=$1 n="cps-$1" h="$E2E_ROOT/cps-$1" marker="berth-cp-stopped-$$-$1"
  mkdir -p "$h"
  echo "while stopped" > "$h/f"
  run cli "$c" create --name "$n" busybox sh -c "cat /tmp/f /etc/$marker"
  assert_success
  run cli "$c" cp "$h/f" "$n:/tmp/f"
  assert_success
  # into the image's /etc through the overlay (nothing on the host's /etc)
  run cli "$c" cp "$h/f" "$n:/etc/$marker"
  assert_success
  run cli "$c" start -a "$n"
  assert_success
  assert_output $'while stopped\nwhile stopped'
  # out of an exited container
  run cli "$c" cp "$n:/tmp/f" "$h/out"
  assert_success
  [ "$(cat "$h/out")" = "while stopped" ] || _e2e_fail "copy out of a stopped container"
  # the temporary mount is gone
  ! grep -q "cp-root" /proc/self/mountinfo || _e2e_fail "cp left a mount behind"
}
@test "berth: cp into a created container and out of an exited one" { scenario_stopped berth; }
@test "docker: cp into a created container and out of an exited one" { scenario_stopped docker; }

scenario_tar_streams() {
  local c=$1 n="cpt-$1" h="$E2E_ROOT/cpt-$1"
  mkdir -p "$h/src"
  echo one > "$h/src/one"
  start_box "$c" "$n"
  # a tar on stdout
  run bash -c "$(cli_cmdline "$c") cp $n:/tmp/d - | tar -tf - | sort"
  assert_success
  assert_output $'d/\nd/f\nd/sub/\nd/sub/g'
  # a tar on stdin, extracted into a directory
  run bash -c "tar -C '$h/src' -cf - one | $(cli_cmdline "$c") cp - $n:/tmp"
  assert_success
  run cli "$c" exec "$n" cat /tmp/one
  assert_output "one"
  # stdin needs a directory
  run bash -c "tar -C '$h/src' -cf - one | $(cli_cmdline "$c") cp - $n:/tmp/one"
  assert_status 1
  assert_output_contains "must be a directory"
}
@test "berth: cp with tar on stdout and stdin (-)" { scenario_tar_streams berth; }
@test "docker: cp with tar on stdout and stdin (-)" { scenario_tar_streams docker; }

scenario_owner() {
  local c=$1 n="cpo-$1" h="$E2E_ROOT/cpo-$1"
  mkdir -p "$h"
  echo x > "$h/f"
  chown 4321:4321 "$h/f"
  run cli "$c" run -d --name "$n" -u nobody busybox sleep 300
  assert_success
  # without -a the copy belongs to root, with -a to the container's user
  run cli "$c" cp "$h/f" "$n:/tmp/plain"
  assert_success
  run cli "$c" exec "$n" stat -c '%u:%g' /tmp/plain
  assert_output "0:0"
  run cli "$c" cp -a "$h/f" "$n:/tmp/archived"
  assert_success
  run cli "$c" exec "$n" stat -c '%u' /tmp/archived
  assert_output "$(cli "$c" exec "$n" id -u)"
}
@test "berth: cp -a gives the copy to the container's user" { scenario_owner berth; }
@test "docker: cp -a gives the copy to the container's user" { scenario_owner docker; }

scenario_errors() {
  local c=$1 n="cpe-$1" h="$E2E_ROOT/cpe-$1"
  mkdir -p "$h"
  echo x > "$h/f"
  start_box "$c" "$n"
  run cli "$c" cp "$n:/nope" "$h/"
  assert_status 1
  assert_output_contains "Could not find the file /nope in container $n"
  run cli "$c" cp "$h/f" "nosuch-$c:/tmp"
  assert_status 1
  assert_output_contains "No such container"
  run cli "$c" cp "$h/f" "$h/g"
  assert_status 1
  assert_output_contains "must specify at least one container source"
  run cli "$c" cp "$h/missing" "$n:/tmp"
  assert_status 1
  assert_output_contains "no such file or directory"
  # a directory onto a file
  run cli "$c" cp "$h" "$n:/tmp/d/f"
  assert_status 1
  # archive API directly: bad path parameter
  run api HEAD "/containers/$n/archive?path=" -I
  [[ ${lines[-1]} == 400 ]] || _e2e_fail "empty path should be 400"
  run api HEAD "/containers/$n/archive?path=/tmp/d/f" -I
  assert_output_contains "X-Docker-Container-Path-Stat"
}
@test "berth: cp error paths" { scenario_errors berth; }
@test "docker: cp error paths" { scenario_errors docker; }

@test "no leftovers: mounts, cgroup processes, monitors" { assert_no_leftovers; }
