#!/usr/bin/env bash
# critest-setup.sh: install the toolchain that builds critest and crictl
# (cri-tools v1.32.0 needs Go >= 1.23): Debian's golang-1.23-go from
# bookworm-backports. The backports suite is added through a temporary
# sources list that is removed again afterwards (also when the install
# fails), so the machine's apt configuration is left as it was.
# Idempotent: does nothing when /usr/lib/go-1.23/bin/go is already there.
# Not part of CI (issue 16: critest is run by hand). See docs/cri.md.
set -euo pipefail

GO=/usr/lib/go-1.23/bin/go
if [ -x "$GO" ]; then
  echo "critest-setup: $("$GO" version) already installed"
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "critest-setup: must run as root" >&2; exit 1; }

# The mirror the machine already uses for bookworm (deb822 or one-line style).
# Comment lines are skipped (deb822 files name snapshot URLs in comments).
mirror=$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
  grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v -- '-security' | head -1 | tr -d ' ' || true)
mirror=${mirror%/}
[ -n "$mirror" ] || { echo "critest-setup: no Debian mirror found in /etc/apt/sources.list*" >&2; exit 1; }

LIST=/etc/apt/sources.list.d/berth-backports.list
cleanup() {
  rm -f "$LIST"
  apt-get update -qq || echo "critest-setup: apt-get update after removing $LIST failed" >&2
}
trap cleanup EXIT

echo "deb $mirror bookworm-backports main" >"$LIST"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -q -t bookworm-backports golang-1.23-go
"$GO" version
