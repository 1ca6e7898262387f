#!/usr/bin/env bash
# critest-images.sh: build offline equivalents of the images critest
# (cri-tools v1.32.0) pulls, from Debian packages only.
#
#   scripts/critest-images.sh OUTDIR
#
# Writes one root filesystem tar per image into OUTDIR and OUTDIR/images.tsv,
# one line per image reference: REF<TAB>TAR<TAB>CHANGES, CHANGES being the
# Dockerfile instructions for `berth import --change`, separated by " ;; ".
# scripts/critest.sh imports each tar, pushes it to a loopback registry under
# the same repository path and points berthd's registry.k8s.io and gcr.io
# mirrors at that registry.
#
# What the tests need of each image (read from cri-tools' pkg/validate and
# images/; docs/cri.md "Running critest and crictl"):
# - e2e-test-images/busybox:1.29-2: the default container image. Debian's
#   *dynamic* busybox (busybox-static runs applets in-process, so a masked
#   /bin/ls would still run and the MaskedPaths spec wants
#   "/bin/sh: ls: Permission denied"), every applet a hard link in /bin as in
#   the upstream busybox image, glibc beside it, util-linux's ipcs (HostIpc
#   specs; not a Debian busybox applet), a pgrep script (not an applet
#   either), upstream busybox's /etc/passwd and /etc/group (nobody, www-data).
# - k8s-staging-cri-tools/test-image-{latest,1,2,3}, test-image-tag:{test,all},
#   test-image-tags:{1,2,3} (one image under three tags): busybox plus one
#   file named after the image (upstream images/image-test).
# - test-image-user-{uid,username,uid-group,username-group}: USER 1002,
#   www-data, 1003:1004, www-data:1004 (ImageStatus Uid/Username).
# - test-image-predefined-group: default-user 1000 in group
#   group-defined-in-image 50000, USER 1000 (SupplementalGroupsPolicy).
# - e2e-test-images/nginx:1.14-2 and k8s-staging-cri-tools/hostnet-nginx-amd64:
#   Debian's nginx (binary and its libraries) on port 80, resp. 12003, with
#   /var/run/nginx.pid and a "nginx: master process" pid 1.
# - e2e-test-images/httpd:2.4.39-4: busybox httpd on port 80 that writes
#   "httpd" to its log.
# - e2e-test-images/nonewprivs:1.3: a static setuid-root program printing
#   "Effective uid: N" (NoNewPrivs specs).
# Not built: test-image-digest (the spec pins upstream's digest; skipped).
#
# Downloads busybox, nginx and nginx-common .debs with `apt-get download`
# (nothing is installed) into $CRITEST_CACHE (default /work/critest-cache).
set -euo pipefail

die() { echo "critest-images: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: $0 OUTDIR"
out=$(mkdir -p "$1" && cd "$1" && pwd)
cache=${CRITEST_CACHE:-/work/critest-cache}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$cache/debs"

# fetch_deb PKG: extract PKG's .deb (downloaded once) into $cache/PKG.
fetch_deb() {
  local pkg=$1 deb
  if [ ! -d "$cache/$pkg" ]; then
    deb=$(ls "$cache/debs/${pkg}_"*.deb 2>/dev/null | head -1 || true)
    if [ -z "$deb" ]; then
      (cd "$cache/debs" && apt-get download "$pkg" >/dev/null 2>&1) || die "apt-get download $pkg failed"
      deb=$(ls "$cache/debs/${pkg}_"*.deb | head -1)
    fi
    rm -rf "$cache/$pkg.tmp"
    dpkg-deb -x "$deb" "$cache/$pkg.tmp"
    mv "$cache/$pkg.tmp" "$cache/$pkg"
  fi
}

# add_bin ROOT SRC DEST: copy the ELF SRC to ROOT/DEST with every shared
# library ldd resolves (same paths as on the host), and the loader.
add_bin() {
  local root=$1 src=$2 dest=$3 lib
  mkdir -p "$root/$(dirname "$dest")"
  cp "$src" "$root/$dest"
  if ldd "$src" | grep -q 'not found'; then
    die "$src needs libraries this host lacks: $(ldd "$src" | grep 'not found' | tr -s ' \t' ' ')"
  fi
  for lib in $(ldd "$src" | grep -oE '(/[^ ]+)' || true); do
    [ -e "$root$lib" ] && continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}

# mk_busybox ROOT: the busybox:1.29-2 equivalent (see the header).
mk_busybox() {
  local r=$1 applet
  fetch_deb busybox
  mkdir -p "$r"/{bin,etc,root,tmp,proc,sys,dev,home,var/www,var/spool/mail,var/tmp,usr/bin,usr/sbin,sbin}
  add_bin "$r" "$cache/busybox/bin/busybox" /bin/busybox
  for applet in $("$r/bin/busybox" --list 2>/dev/null || "$cache/busybox/bin/busybox" --list); do
    [ "$applet" = busybox ] && continue
    [ -e "$r/bin/$applet" ] || ln "$r/bin/busybox" "$r/bin/$applet"
  done
  [ -e "$r/bin/ls" ] && [ -e "$r/bin/id" ] && [ -e "$r/bin/pidof" ] || die "busybox lacks ls/id/pidof"
  add_bin "$r" /usr/bin/ipcs /bin/ipcs
  cat >"$r/bin/pgrep" <<'SH'
#!/bin/sh
# pgrep PATTERN: pids of processes whose name matches PATTERN (ERE), as
# procps' pgrep without options; exit 1 when none. Not a Debian busybox applet.
[ $# -eq 1 ] || { echo "usage: pgrep PATTERN" >&2; exit 2; }
found=1
for d in /proc/[0-9]*; do
  read -r comm <"$d/comm" 2>/dev/null || continue
  pid=${d#/proc/}
  [ "$pid" = "$$" ] && continue
  if echo "$comm" | grep -qE -- "$1"; then echo "$pid"; found=0; fi
done
exit $found
SH
  chmod 0755 "$r/bin/pgrep"
  cat >"$r/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
PW
  cat >"$r/etc/group" <<'GR'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
kmem:x:9:
wheel:x:10:root
cdrom:x:11:
dialout:x:18:
floppy:x:19:
video:x:28:
audio:x:29:
tape:x:32:
www-data:x:33:
operator:x:37:
utmp:x:43:
plugdev:x:46:
staff:x:50:
lock:x:54:
netdev:x:82:
users:x:100:
nogroup:x:65534:
GR
  chmod 1777 "$r/tmp" "$r/var/tmp"
  chmod 0700 "$r/root"
}

# mk_nginx ROOT PORT: busybox plus Debian's nginx listening on PORT.
mk_nginx() {
  local r=$1 port=$2
  fetch_deb nginx
  mk_busybox "$r"
  add_bin "$r" "$cache/nginx/usr/sbin/nginx" /usr/sbin/nginx
  mkdir -p "$r"/{etc/nginx,var/log/nginx,var/lib/nginx,usr/share/nginx/html,run}
  ln -s ../run "$r/var/run"
  cat >"$r/etc/nginx/nginx.conf" <<EOF
user www-data www-data;
worker_processes 1;
pid /var/run/nginx.pid;
error_log /dev/stderr;
events { worker_connections 64; }
http {
  access_log /dev/stdout;
  default_type text/html;
  server {
    listen $port;
    root /usr/share/nginx/html;
    index index.html;
  }
}
EOF
  echo '<html><body><h1>Welcome to nginx!</h1></body></html>' >"$r/usr/share/nginx/html/index.html"
}

# mk_nonewprivs ROOT: busybox plus /usr/local/bin/nnp, setuid root.
mk_nonewprivs() {
  local r=$1
  mk_busybox "$r"
  mkdir -p "$r/usr/local/bin"
  gcc -static -O2 -o "$r/usr/local/bin/nnp" "$here/critest-nnp.c" || die "gcc -static nnp failed (libc6-dev)"
  chmod 4755 "$r/usr/local/bin/nnp"
}

# pack ROOT TAR: a reproducible tar owned by 0:0 (hard links and modes kept).
pack() {
  tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 -C "$1" -cf "$2" .
}

work=$(mktemp -d "${TMPDIR:-/tmp}/critest-img.XXXXXX")
trap 'rm -rf "$work"' EXIT
tsv=$out/images.tsv.tmp
: >"$tsv"

K8S=registry.k8s.io/e2e-test-images
GCR=gcr.io/k8s-staging-cri-tools

# image NAME REF CHANGES: record REF as the tar NAME.tar with CHANGES.
image() { printf '%s\t%s\t%s\n' "$2" "$out/$1.tar" "$3" >>"$tsv"; }

mk_busybox "$work/busybox"
pack "$work/busybox" "$out/busybox.tar"
image busybox "$K8S/busybox:1.29-2" 'CMD ["sh"]'

# busybox plus one file (upstream images/image-test: ADD $TEST $TEST).
with_file() {
  local name=$1 file=$2
  rm -rf "${work:?}/${name:?}"
  cp -a "$work/busybox" "$work/$name"
  : >"$work/$name/$file"
  pack "$work/$name" "$out/$name.tar"
}
for n in test-image-latest test-image-1 test-image-2 test-image-3; do
  with_file "$n" "$n"
done
with_file test-image-tag-test test
with_file test-image-tag-all all
with_file test-image-tags same-image
image test-image-latest "$GCR/test-image-latest:latest" 'CMD ["sh"]'
for n in 1 2 3; do
  image "test-image-$n" "$GCR/test-image-$n:latest" 'CMD ["sh"]'
  image test-image-tags "$GCR/test-image-tags:$n" 'CMD ["sh"]'
done
image test-image-tag-test "$GCR/test-image-tag:test" 'CMD ["sh"]'
image test-image-tag-all "$GCR/test-image-tag:all" 'CMD ["sh"]'

# USER images share the busybox tar; only the config differs.
image busybox "$GCR/test-image-user-uid:latest" 'CMD ["sh"] ;; USER 1002'
image busybox "$GCR/test-image-user-username:latest" 'CMD ["sh"] ;; USER www-data'
image busybox "$GCR/test-image-user-uid-group:latest" 'CMD ["sh"] ;; USER 1003:1004'
image busybox "$GCR/test-image-user-username-group:latest" 'CMD ["sh"] ;; USER www-data:1004'

rm -rf "$work/predef"
cp -a "$work/busybox" "$work/predef"
echo 'default-user:x:1000:1000::/home/default-user:/bin/sh' >>"$work/predef/etc/passwd"
printf '%s\n' 'default-user:x:1000:' 'group-defined-in-image:x:50000:default-user' >>"$work/predef/etc/group"
mkdir -p "$work/predef/home/default-user"
pack "$work/predef" "$out/predefined-group.tar"
image predefined-group "$GCR/test-image-predefined-group:latest" 'CMD ["sh"] ;; USER 1000'

mk_nginx "$work/nginx" 80
pack "$work/nginx" "$out/nginx.tar"
image nginx "$K8S/nginx:1.14-2" 'CMD ["nginx", "-g", "daemon off;"] ;; EXPOSE 80'
mk_nginx "$work/hostnet-nginx" 12003
pack "$work/hostnet-nginx" "$out/hostnet-nginx.tar"
image hostnet-nginx "$GCR/hostnet-nginx-amd64:latest" 'CMD ["nginx", "-g", "daemon off;"] ;; EXPOSE 12003'

rm -rf "$work/httpd"
cp -a "$work/busybox" "$work/httpd"
mkdir -p "$work/httpd/htdocs"
echo '<html><body><h1>It works!</h1></body></html>' >"$work/httpd/htdocs/index.html"
pack "$work/httpd" "$out/httpd.tar"
image httpd "$K8S/httpd:2.4.39-4" \
  'CMD ["sh", "-c", "echo \"httpd: serving /htdocs on port 80\"; exec httpd -f -v -p 80 -h /htdocs"] ;; EXPOSE 80'

mk_nonewprivs "$work/nnp"
pack "$work/nnp" "$out/nonewprivs.tar"
image nonewprivs "$K8S/nonewprivs:1.3" 'ENTRYPOINT ["/usr/local/bin/nnp"]'

mv -f "$tsv" "$out/images.tsv"
echo "critest-images: $(wc -l <"$out/images.tsv") references, $(ls "$out"/*.tar | wc -l) tars in $out"
