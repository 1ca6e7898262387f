#!/usr/bin/env bash
# Build a busybox root filesystem tarball from Debian's busybox-static.
#
#   scripts/mk-busybox-rootfs.sh OUT.tar
#
# The tar holds /bin/busybox, one symlink per applet (`busybox --list-full`,
# so every applet Debian's build has), a minimal /etc (passwd, group,
# hostname), /tmp (1777) and /root. Owned by 0:0, no host paths inside.
# Used by scripts/setup.sh (the busybox:latest image), tests/e2e and bench/.
set -euo pipefail

die() { echo "mk-busybox-rootfs: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 OUT.tar"
out=$1
bb=${BUSYBOX:-/bin/busybox}
[ -x "$bb" ] || die "$bb not found: apt-get install busybox-static"
# A dynamically linked busybox would need the host's libc inside the image.
if command -v file >/dev/null 2>&1 && ! file -L "$bb" | grep -q 'statically linked'; then
  die "$bb is not statically linked (install busybox-static)"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/bbroot.XXXXXX")
trap 'rm -rf "$work"' EXIT
r=$work/rootfs
mkdir -p "$r/bin" "$r/sbin" "$r/usr/bin" "$r/usr/sbin" "$r/etc" "$r/root" "$r/tmp" \
         "$r/proc" "$r/sys" "$r/dev" "$r/var/tmp" "$r/home"
cp "$bb" "$r/bin/busybox"
chmod 0755 "$r/bin/busybox"

n=0
while IFS= read -r applet; do
  applet=${applet#/}
  [ -n "$applet" ] || continue
  case $applet in
    bin/busybox) continue ;;
    */*) ;;
    *) applet="bin/$applet" ;;   # e.g. "linuxrc": keep the root clean
  esac
  mkdir -p "$r/$(dirname "$applet")"
  ln -sfn /bin/busybox "$r/$applet"
  n=$((n + 1))
done < <("$bb" --list-full)
[ "$n" -gt 100 ] || die "only $n applets listed by $bb --list-full"

cat > "$r/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PW
cat > "$r/etc/group" <<'GR'
root:x:0:
nogroup:x:65534:
nobody:x:65534:
GR
echo busybox > "$r/etc/hostname"
chmod 1777 "$r/tmp" "$r/var/tmp"
chmod 0700 "$r/root"

tmp_out="$out.tmp.$$"
tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 -C "$r" -cf "$tmp_out" .
mv -f "$tmp_out" "$out"
