#!/usr/bin/env bats
# docker run -it under a real pty: tmux drives an interactive shell, script(1)
# checks the exit code and that the container sees a terminal; exec -t gets
# its pty from the container's devpts as run -t does.

bats_require_minimum_version 1.5.0
load helpers

setup_file() { e2e_setup_file; }
teardown_file() { e2e_teardown_file; }
teardown() { e2e_teardown; }

TMUX_SOCK() { echo "$E2E_ROOT/tmux.sock"; }

# pane_has SESSION TEXT: the visible pane (and its history) contains TEXT.
pane_has() {
  tmux -S "$(TMUX_SOCK)" capture-pane -p -S -200 -t "$1" 2>/dev/null | grep -qF -- "$2"
}

# prompt_or_exit SESSION RCFILE: a line ends in a root shell prompt ("/ #";
# tmux strips trailing blanks), or the client already exited.
prompt_or_exit() {
  tmux -S "$(TMUX_SOCK)" capture-pane -p -t "$1" 2>/dev/null | grep -qE '#$' || [ -s "$2" ]
}

pane_dump() {
  echo "--- pane $1 ---" >&2
  tmux -S "$(TMUX_SOCK)" capture-pane -p -S -200 -t "$1" 2>/dev/null | grep -v '^ *$' >&2 || true
}

scenario_tty_shell() {
  local c=$1 sess="tty-$1" rcf="$E2E_ROOT/tty-$1.rc" cmd
  require_cmd tmux
  cmd="$(cli_cmdline "$c") run -it --rm busybox sh"
  rm -f "$rcf"
  # the pane runs the client, then records its exit status and lingers so
  # the screen can still be read
  tmux -S "$(TMUX_SOCK)" new-session -d -s "$sess" -x 100 -y 30 \
    "timeout --foreground -k 5 120 $cmd; echo \$? > $rcf; sleep 60" 3>&- 4>&-
  if ! wait_until 30 "a shell prompt (or the client's exit)" prompt_or_exit "$sess" "$rcf"; then
    pane_dump "$sess"; return 1
  fi
  if [ -s "$rcf" ]; then
    pane_dump "$sess"; _e2e_fail "the client exited with $(cat "$rcf") before the shell prompt"
  fi
  tmux -S "$(TMUX_SOCK)" send-keys -t "$sess" 'echo hi-$((6*7)) && tty' Enter
  if ! wait_until 20 "the shell to run the typed command (hi-42)" pane_has "$sess" 'hi-42'; then
    pane_dump "$sess"; return 1
  fi
  # the typed line is echoed back by the terminal
  pane_has "$sess" 'echo hi-$((6*7)) && tty' || { pane_dump "$sess"; _e2e_fail "input was not echoed"; }
  wait_until 5 "tty to print a device" pane_has "$sess" '/dev/' || { pane_dump "$sess"; return 1; }
  if pane_has "$sess" 'not a tty'; then pane_dump "$sess"; _e2e_fail "stdin is not a tty in the container"; fi
  tmux -S "$(TMUX_SOCK)" send-keys -t "$sess" 'exit 5' Enter
  if ! wait_until 20 "the client to exit after 'exit 5'" test -s "$rcf"; then
    pane_dump "$sess"; return 1
  fi
  tmux -S "$(TMUX_SOCK)" kill-session -t "$sess" 2>/dev/null || true
  [ "$(cat "$rcf")" = 5 ] || _e2e_fail "client exit status $(cat "$rcf"), expected 5"
}
@test "berth: run -it busybox sh under tmux echoes input and exits with the shell's code" {
  scenario_tty_shell berth
}
@test "docker: run -it busybox sh under tmux echoes input and exits with the shell's code" {
  scenario_tty_shell docker
}

scenario_script_tty() {
  local c=$1 cmd
  require_cmd script util-linux
  cmd="$(cli_cmdline "$c") run -it --rm busybox sh -c 'tty && test -t 0 && test -t 1 && exit 4'"
  run timeout --foreground -k 5 60 script -qec "$cmd" /dev/null </dev/null
  assert_status 4
  assert_output_contains "/dev/pts/0"
  refute_output_contains "not a tty"
  # the pty is the container's own devpts' first one; /dev/console is bound to it
  cmd="$(cli_cmdline "$c") run -it --rm busybox sh -c 'ls /dev/pts; stat -c %t:%T /dev/console \$(tty)'"
  run timeout --foreground -k 5 60 script -qec "$cmd" /dev/null </dev/null
  assert_success
  assert_output_contains "ptmx"
  local devs; devs=$(echo "$output" | tr -d '\r' | grep -E '^[0-9a-f]+:[0-9a-f]+$' | sort -u | wc -l)
  [ "$devs" = 1 ] || _e2e_fail "/dev/console and the tty should be one device"
}
@test "berth: run -it under script(1): the container has a tty, exit code comes back" {
  scenario_script_tty berth
}
@test "docker: run -it under script(1): the container has a tty, exit code comes back" {
  scenario_script_tty docker
}

scenario_exec_tty() {
  local c=$1 id cmd
  require_cmd script util-linux
  # the container holds /dev/pts/0 of its devpts; an exec's pty is the next one there
  id=$(cli "$c" run -dit busybox sh)
  run cli "$c" exec -t "$id" tty
  assert_success
  [[ ${output%$'\r'} =~ ^/dev/pts/[1-9][0-9]*$ ]] || _e2e_fail "exec -t tty printed: $output"
  run cli "$c" exec -t "$id" sh -c 'test -t 0 && test -t 1 && test -e "$(tty)" && echo same-devpts'
  assert_output_contains "same-devpts"
  # interactive, under a real terminal: the exit code comes back, stdin is the tty
  cmd="$(cli_cmdline "$c") exec -it $id sh -c 'tty; test -t 0 && exit 5'"
  run timeout --foreground -k 5 60 script -qec "$cmd" /dev/null </dev/null
  assert_status 5
  assert_output_contains "/dev/pts/"
  refute_output_contains "not a tty"
  cli "$c" rm -f "$id" >/dev/null
}
@test "berth: exec -t gets a pty of the container's devpts (tty names /dev/pts/N)" { scenario_exec_tty berth; }
@test "docker: exec -t gets a pty of the container's devpts (tty names /dev/pts/N)" { scenario_exec_tty docker; }

scenario_piped_stdin() {
  local c=$1
  run timeout -k 5 "$E2E_CMD_TIMEOUT" bash -c "printf 'line1\nline2\n' | $(cli_cmdline "$c") run -i --rm busybox sh -c 'cat; echo done'"
  assert_success
  assert_output "line1
line2
done"
}
@test "berth: run -i passes piped stdin and closes it" { scenario_piped_stdin berth; }
@test "docker: run -i passes piped stdin and closes it" { scenario_piped_stdin docker; }

@test "no leftovers: mounts, cgroup processes, monitors" {
  if [ -S "$(TMUX_SOCK)" ]; then tmux -S "$(TMUX_SOCK)" kill-server 2>/dev/null || true; fi
  assert_no_leftovers
}
