#!/usr/bin/env bats
# Volumes and mounts (issue 7): the volume commands, named / anonymous
# volumes, copy-up, bind mounts, tmpfs; each scenario with the berth CLI and
# the docker CLI.

bats_require_minimum_version 1.5.0
load helpers

setup_file() { require_cmd jq && e2e_setup_file; }
# mount_opt_of DIR: a command line for a container's sh that prints the
# first option ("ro" or "rw") of the mount at DIR, nothing when DIR is no mount.
mount_opt_of() { printf "awk '\$2 == \"%s\" {split(\$4, o, \",\"); print o[1]}' /proc/self/mounts" "$1"; }
teardown_file() { e2e_teardown_file; }
setup() { remove_all_containers; }
teardown() { e2e_teardown; }

scenario_tutorial() {
  local c=$1
  run cli "$c" volume create "my-vol-$c"
  assert_success
  assert_output "my-vol-$c"
  run cli "$c" volume ls
  assert_success
  assert_output_contains "DRIVER    VOLUME NAME"
  assert_output_contains "local     my-vol-$c"
  run cli "$c" volume inspect "my-vol-$c"
  assert_success
  [ "$(jq -r '.[0].Mountpoint' <<<"$output")" = "$E2E_ROOT/data/volumes/my-vol-$c/_data" ] || _e2e_fail "Mountpoint"
  [ "$(jq -r '.[0].Driver + "|" + .[0].Scope + "|" + .[0].Name' <<<"$output")" = "local|local|my-vol-$c" ] ||
    _e2e_fail "inspect fields"
  [ -d "$E2E_ROOT/data/volumes/my-vol-$c/_data" ] || _e2e_fail "no _data directory"

  run cli "$c" run -d --name "devtest-$c" --mount "source=myvol2-$c,target=/app" busybox sleep 300
  assert_success
  run cli "$c" inspect --format '{{json .Mounts}}' "devtest-$c"
  assert_success
  [ "$(jq -r '.[0].Type + "|" + .[0].Name + "|" + .[0].Destination + "|" + (.[0].RW|tostring) + "|" + .[0].Driver' <<<"$output")" = \
    "volume|myvol2-$c|/app|true|local" ] || _e2e_fail "Mounts: $output"
  [ "$(jq -r '.[0].Source' <<<"$output")" = "$E2E_ROOT/data/volumes/myvol2-$c/_data" ] || _e2e_fail "Source: $output"
  run cli "$c" exec "devtest-$c" sh -c "echo kept-$c > /app/note"
  assert_success
  run cli "$c" rm -f "devtest-$c"
  assert_success
  # the -v form sees the data the first container wrote
  run cli "$c" run --rm -v "myvol2-$c:/app" busybox cat /app/note
  assert_success
  assert_output "kept-$c"
  # :ro: the volume is there with its data, mounted ro, and a write fails
  run cli "$c" run --rm -v "myvol2-$c:/app:ro" busybox sh -c "cat /app/note; $(mount_opt_of /app); echo x > /app/other"
  assert_status 1
  assert_output "kept-$c
ro
sh: can't create /app/other: Read-only file system"
  run cli "$c" volume rm "my-vol-$c" "myvol2-$c"
  assert_success
  assert_output "my-vol-$c
myvol2-$c"
  run cli "$c" volume ls -q
  refute_output_contains "my-vol-$c"
  [ ! -e "$E2E_ROOT/data/volumes/my-vol-$c" ] || _e2e_fail "volume directory left behind"
  run --separate-stderr cli "$c" volume inspect "my-vol-$c"
  assert_status 1
  assert_stderr_contains "no such volume"
}
@test "berth: volume tutorial (create, ls, inspect, --mount / -v, data survives rm, rm)" { scenario_tutorial berth; }
@test "docker: volume tutorial (create, ls, inspect, --mount / -v, data survives rm, rm)" { scenario_tutorial docker; }

scenario_copy_up() {
  local c=$1
  run cli "$c" run --name "mk-$c" busybox sh -c 'mkdir -p /data/sub && echo from-image > /data/f && echo deep > /data/sub/g && chmod 0750 /data'
  assert_success
  run cli "$c" commit "mk-$c" "cu-$c:v1"
  assert_success
  # a new named volume is filled with the image's /data
  run cli "$c" run --rm -v "cu-vol-$c:/data" "cu-$c:v1" sh -c 'cat /data/f /data/sub/g; stat -c %a /data'
  assert_success
  assert_output "from-image
deep
750"
  [ "$(cat "$E2E_ROOT/data/volumes/cu-vol-$c/_data/f")" = from-image ] || _e2e_fail "volume data on the host"
  # an existing volume is not overwritten
  run cli "$c" volume create "cu-pre-$c"
  assert_success
  echo mine >"$E2E_ROOT/data/volumes/cu-pre-$c/_data/own"
  run cli "$c" run --rm --mount "type=volume,source=cu-pre-$c,target=/data" "cu-$c:v1" ls /data
  assert_success
  assert_output "own"
  # volume-nocopy leaves a new volume empty
  run cli "$c" run --rm --mount "type=volume,source=cu-nocopy-$c,target=/data,volume-nocopy" "cu-$c:v1" ls -A /data
  assert_success
  assert_output ""
  run cli "$c" rm "mk-$c"
  run cli "$c" volume rm "cu-vol-$c" "cu-pre-$c" "cu-nocopy-$c"
  assert_success
}
@test "berth: copy-up fills a new volume from the image, never an existing one" { scenario_copy_up berth; }
@test "docker: copy-up fills a new volume from the image, never an existing one" { scenario_copy_up docker; }

scenario_rm_in_use() {
  local c=$1 id
  run cli "$c" run --name "user-$c" -v "inuse-$c:/x" busybox true
  assert_success
  id=$(cli "$c" inspect --format '{{.Id}}' "user-$c")
  run cli "$c" ps -a --filter "volume=inuse-$c" --format '{{.Names}}'
  assert_output "user-$c"
  run cli "$c" ps -a --filter volume=/x --format '{{.Names}}'
  assert_output "user-$c"
  run cli "$c" ps -a --filter volume=other --format '{{.Names}}'
  assert_output ""
  run --separate-stderr cli "$c" volume rm "inuse-$c"
  assert_status 1
  assert_stderr_contains "Error response from daemon: remove inuse-$c: volume is in use - [$id]"
  run --separate-stderr cli "$c" volume rm -f "inuse-$c"
  assert_status 1
  assert_stderr_contains "volume is in use"
  run cli "$c" volume ls --filter dangling=true -q
  refute_output_contains "inuse-$c"
  # a named volume survives rm -v of its container
  run cli "$c" rm -v "user-$c"
  assert_success
  run cli "$c" volume ls --filter dangling=true -q
  assert_output_contains "inuse-$c"
  run cli "$c" volume rm "inuse-$c"
  assert_success
  run cli "$c" volume rm -f "inuse-$c"
  assert_success
}
@test "berth: volume rm of a volume in use fails with Docker's message, then succeeds" { scenario_rm_in_use berth; }
@test "docker: volume rm of a volume in use fails with Docker's message, then succeeds" { scenario_rm_in_use docker; }

@test "api: volume rm in use answers 409" {
  run cli berth run --name api-user -v api-vol:/x busybox true
  assert_success
  run api DELETE /v1.41/volumes/api-vol
  assert_success
  [ "${output##*$'\n'}" = 409 ] || _e2e_fail "status"
  assert_output_contains "volume is in use"
  run api GET /v1.41/volumes/nosuch
  [ "${output##*$'\n'}" = 404 ] || _e2e_fail "status"
  run api POST /v1.41/volumes/create -H 'Content-Type: application/json' -d '{"Name":"bad/name"}'
  [ "${output##*$'\n'}" = 400 ] || _e2e_fail "status"
  cli berth rm -v api-user
  run api DELETE /v1.41/volumes/api-vol
  [ "${output##*$'\n'}" = 204 ] || _e2e_fail "status"
}

scenario_bind() {
  local c=$1 dir="$E2E_ROOT/host-$1"
  mkdir -p "$dir"
  echo on-host >"$dir/f"
  run cli "$c" run --rm -v "$dir:/h:ro" busybox sh -c "cat /h/f; $(mount_opt_of /h); echo x > /h/new"
  assert_status 1
  assert_output "on-host
ro
sh: can't create /h/new: Read-only file system"
  [ ! -e "$dir/new" ] || _e2e_fail "file written through a ro bind"
  run cli "$c" run --rm --mount "type=bind,source=$dir,target=/h,readonly" busybox sh -c "cat /h/f; $(mount_opt_of /h); touch /h/new"
  assert_status 1
  assert_output "on-host
ro
touch: /h/new: Read-only file system"
  [ ! -e "$dir/new" ] || _e2e_fail "file written through a readonly --mount bind"
  run cli "$c" run --rm -v "$dir:/h" busybox sh -c 'echo from-container > /h/new'
  assert_success
  [ "$(cat "$dir/new")" = from-container ] || _e2e_fail "rw bind did not write to the host"
  # -v creates a missing source directory; --mount type=bind refuses it
  run cli "$c" run --rm -v "$dir/made/deep:/m" busybox true
  assert_success
  [ -d "$dir/made/deep" ] || _e2e_fail "-v did not create the source"
  run --separate-stderr cli "$c" run --rm --mount "type=bind,source=$dir/missing,target=/m" busybox true
  assert_status 125
  assert_stderr_contains "invalid mount config for type \"bind\": bind source path does not exist: $dir/missing"
  run --separate-stderr cli "$c" run --rm --mount "type=bind,source=$dir" busybox true
  assert_status 125
  assert_stderr_contains "target is required"
  # a relative source starting with '.' is made absolute by the client
  mkdir -p "$dir/rel"
  echo relative >"$dir/rel/r"
  run bash -c "cd '$dir' && $(cli_cmdline "$c") run --rm -v ./rel:/r busybox cat /r/r"
  assert_success
  assert_output "relative"
  run cli "$c" ps -aq
  assert_output ""
}
@test "berth: bind mounts: ro refuses writes, rw writes through, missing sources" { scenario_bind berth; }
@test "docker: bind mounts: ro refuses writes, rw writes through, missing sources" { scenario_bind docker; }

@test "bind mount target symlinked out of the root stays inside the container" {
  local dir="$E2E_ROOT/host-link" outside="$E2E_ROOT/outside"
  mkdir -p "$dir" "$outside"
  run cli berth run --name linker busybox sh -c "ln -s $outside /escape"
  assert_success
  run cli berth commit linker link-img
  assert_success
  run cli berth run --rm -v "$dir:/escape/in" link-img sh -c 'echo ok > /escape/in/f'
  assert_success
  [ "$(cat "$dir/f")" = ok ] || _e2e_fail "bind not reached"
  [ -z "$(ls -A "$outside")" ] || _e2e_fail "a mount target was created outside the container root"
  cli berth rm linker
}

# The optional fields of a mount in /proc/self/mountinfo (shared:N,
# master:N...), "-" when there are none.
@test "bind propagation: private by default; rslave of a shared host mount follows it" {
  local dir="$E2E_ROOT/prop-src" info
  mkdir -p "$dir"
  info='awk '"'"'$5 == "/data" || $5 == "/etc/hosts" { o = ""; for (i = 7; $i != "-"; i++) o = o $i " "; print $5 ":" (o == "" ? "-" : o) }'"'"' /proc/self/mountinfo'
  run cli berth run --rm -v "$dir:/data" busybox sh -c "$info"
  assert_success
  assert_output_contains "/data:-"
  assert_output_contains "/etc/hosts:-"
  # a shared host mount, bound rslave: a mount made under it on the host shows inside
  mount --bind "$dir" "$dir"
  mount --make-shared "$dir"
  run cli berth run --rm -v "$dir:/data:rslave" busybox sh -c "$info"
  umount "$dir"
  assert_success
  assert_output_contains "/data:master:"
  assert_output_contains "/etc/hosts:-"
}

scenario_tmpfs() {
  local c=$1
  run cli "$c" run -d --name "tm-$c" --tmpfs /t:size=1m --mount type=tmpfs,target=/m,tmpfs-size=2m busybox sleep 300
  assert_success
  run cli "$c" exec "tm-$c" sh -c 'echo data > /t/f; echo data > /m/f; df -k /t /m | tail -n 2'
  assert_success
  [[ $output =~ tmpfs\ +1024\  ]] || _e2e_fail "/t is not 1 MiB"
  [[ $output =~ tmpfs\ +2048\  ]] || _e2e_fail "/m is not 2 MiB"
  run cli "$c" stop -t 0 "tm-$c"
  assert_success
  run cli "$c" start "tm-$c"
  assert_success
  run cli "$c" exec "tm-$c" ls -A /t /m
  assert_success
  assert_output "/m:

/t:"
  run cli "$c" inspect --format '{{range .Mounts}}{{.Type}}:{{.Destination}} {{end}}' "tm-$c"
  assert_output "tmpfs:/m "
  run cli "$c" rm -f "tm-$c"
  assert_success
}
@test "berth: tmpfs mounts are empty at each start and sized" { scenario_tmpfs berth; }
@test "docker: tmpfs mounts are empty at each start and sized" { scenario_tmpfs docker; }

scenario_anonymous() {
  local c=$1 anon img_anon
  run cli "$c" run --name "an-$c" -v /anon busybox sh -c 'echo a > /anon/f'
  assert_success
  anon=$(cli "$c" inspect --format '{{range .Mounts}}{{.Name}}{{end}}' "an-$c")
  [[ $anon =~ ^[0-9a-f]{64}$ ]] || _e2e_fail "anonymous volume name '$anon'"
  run cli "$c" volume inspect --format '{{json .Labels}}' "$anon"
  assert_output '{"com.docker.volume.anonymous":""}'
  # --volumes-from shares it
  run cli "$c" run --rm --volumes-from "an-$c:ro" busybox sh -c "cat /anon/f; $(mount_opt_of /anon); touch /anon/g"
  assert_status 1
  assert_output "a
ro
touch: /anon/g: Read-only file system"
  run cli "$c" rm -v "an-$c"
  assert_success
  run cli "$c" volume ls -q
  refute_output_contains "$anon"
  # --rm removes the anonymous volumes too
  run cli "$c" run --rm -v /anon2 busybox true
  assert_success
  run cli "$c" volume ls -q
  assert_output ""
}
@test "berth: anonymous volumes, --volumes-from, rm -v" { scenario_anonymous berth; }
@test "docker: anonymous volumes, --volumes-from, rm -v" { scenario_anonymous docker; }

@test "berth: prune removes unused anonymous volumes, -a all unused; ls filters" {
  cli berth volume create --label keep=1 named-a
  cli berth volume create named-b
  cli berth run --name pr -v /anon busybox true
  cli berth run --name pr2 -v /anon busybox true
  cli berth rm pr2
  run cli berth volume ls --filter label=keep=1 -q
  assert_output "named-a"
  run cli berth volume ls --filter name=named --format '{{.Name}} {{.Driver}} {{.Labels}}'
  assert_output "named-a local keep=1
named-b local "
  # without -f it asks; anything but y/yes keeps everything
  run bash -c "echo n | $(cli_cmdline berth) volume prune"
  assert_success
  assert_output_contains "Are you sure you want to continue? [y/N]"
  [ "$(cli berth volume ls -q | wc -l)" -eq 4 ] || _e2e_fail "a declined prune removed volumes"
  run bash -c "echo y | $(cli_cmdline berth) volume prune"
  assert_success
  assert_output_contains "Deleted Volumes:"
  assert_output_contains "Total reclaimed space:"
  assert_output_contains "Total reclaimed space:"
  [ "$(cli berth volume ls -q | wc -l)" -eq 3 ] || _e2e_fail "prune removed more than the unused anonymous volume"
  run cli berth volume prune -a -f
  assert_success
  assert_output_contains "named-a"
  assert_output_contains "named-b"
  [ "$(cli berth volume ls -q | wc -l)" -eq 1 ] || _e2e_fail "the used anonymous volume must stay"
  cli berth rm -v pr
  run cli berth volume ls -q
  assert_output ""
}

@test "docker: volume prune at API 1.50 keeps named volumes, -a removes them; at 1.41 it removes all (moby)" {
  docker_cmd volume create dk-named
  docker_cmd run --name dpr -v /anon busybox true
  run docker_cmd volume prune -f
  assert_success
  refute_output_contains "dk-named"
  run docker_cmd volume prune -af
  assert_success
  assert_output_contains "dk-named"
  # a request at API 1.41 without the all filter prunes named volumes too
  docker_cmd volume create dk-old
  run api POST /v1.41/volumes/prune
  assert_output_contains '"dk-old"'
  [ "$(docker_cmd volume ls -q | wc -l)" -eq 1 ] || _e2e_fail "the used anonymous volume must stay"
  docker_cmd rm -v dpr
}

scenario_df() {
  local c=$1
  run cli "$c" volume create "df-vol-$c"
  head -c 100000 /dev/zero >"$E2E_ROOT/data/volumes/df-vol-$c/_data/blob"
  run cli "$c" system df -v
  assert_success
  assert_output_contains "Local Volumes space usage:"
  [[ $output =~ df-vol-$c\ +0\ +100kB ]] || _e2e_fail "volume row"
  run cli "$c" system df
  [[ $output =~ Local\ Volumes\ +1\ +0\ +100kB ]] || _e2e_fail "summary row"
  cli "$c" volume rm "df-vol-$c"
}
@test "berth: system df -v lists volumes with sizes" { scenario_df berth; }
@test "docker: system df -v lists volumes with sizes" { scenario_df docker; }

scenario_image_volume() {
  local c=$1 anon
  run cli "$c" run --name "iv-$c" busybox sh -c 'mkdir /vol && echo seeded > /vol/s'
  assert_success
  run cli "$c" commit -c 'VOLUME /vol' "iv-$c" "iv-$c:v1"
  assert_success
  # the image's VOLUME becomes an anonymous volume, filled from the image
  run cli "$c" run --name "ivu-$c" "iv-$c:v1" cat /vol/s
  assert_success
  assert_output "seeded"
  anon=$(cli "$c" inspect --format '{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}{{end}}' "ivu-$c")
  [[ $anon =~ ^volume\ [0-9a-f]{64}\ /vol$ ]] || _e2e_fail "image volume mount '$anon'"
  run cli "$c" rm -v "iv-$c" "ivu-$c"
  assert_success
  run cli "$c" volume ls -q
  assert_output ""
}
@test "berth: an image VOLUME gets an anonymous volume with the image's content" { scenario_image_volume berth; }
@test "docker: an image VOLUME gets an anonymous volume with the image's content" { scenario_image_volume docker; }

scenario_opt_volume() {
  local c=$1
  run cli "$c" volume create --driver local --opt type=tmpfs --opt device=tmpfs --opt o=size=3m "tv-$c"
  assert_success
  run cli "$c" volume inspect --format '{{.Options.type}} {{.Options.o}}' "tv-$c"
  assert_output "tmpfs size=3m"
  run cli "$c" run --rm -v "tv-$c:/t" busybox sh -c 'df -k /t | tail -n 1'
  assert_success
  [[ $output =~ tmpfs\ +3072\  ]] || _e2e_fail "tmpfs volume size"
  run --separate-stderr cli "$c" volume create --opt bogus=1 "tv2-$c"
  assert_status 1
  assert_stderr_contains 'invalid option key: "bogus"'
  run cli "$c" volume rm "tv-$c"
  assert_success
}
@test "berth: a local volume with --opt type=tmpfs mounts a sized tmpfs" { scenario_opt_volume berth; }
@test "docker: a local volume with --opt type=tmpfs mounts a sized tmpfs" { scenario_opt_volume docker; }

@test "volumes and their users survive a berthd SIGKILL and restart" {
  run cli berth run -d --name rs -v rs-vol:/d busybox sh -c 'echo before > /d/f; sleep 300'
  assert_success
  wait_until 10 "rs to write f into its volume" test -s "$E2E_ROOT/data/volumes/rs-vol/_data/f"
  berthd_kill9
  berthd_start
  run cli docker volume inspect --format '{{.Name}} {{.Driver}}' rs-vol
  assert_success
  assert_output "rs-vol local"
  run --separate-stderr cli docker volume rm rs-vol
  assert_status 1
  assert_stderr_contains "volume is in use"
  run cli berth exec rs cat /d/f
  assert_output "before"
  cli berth rm -f rs
  run cli berth volume rm rs-vol
  assert_success
}

@test "no leftovers" { assert_no_leftovers; }
