#!/usr/bin/env python3
"""Hostile tar suite (issue 14): crafted tars and a driver that pushes each
through every way a tar enters berthd.

  hostile_tar.py gen DIR CANARY
      writes DIR/<case>.tar for every case and DIR/cases.json. CANARY is an
      absolute directory outside every root that the tars try to reach (by
      "..", absolute names, symlinks and hard links); `gen` also plants the
      sentinel tree in it.
  hostile_tar.py run SOCK DIR CANARY CONTAINER DATAROOT [ENTRY...]
      sends every case through the entry points (default all):
        import  POST /images/create?fromSrc=-        (the tar is the layer)
        load    POST /images/load                    (a docker-archive around it)
        cp      PUT /containers/CONTAINER/archive?path=/cp/<case>
        ctx     POST /build, the case's entries as the build context
        add     POST /build, "ADD case.tar /add/" of the tar as a context file
      and checks after each: the outcome the case expects for that entry
      point (refused with a message, or accepted, then what must hold inside
      the root), the sentinel tree unchanged, no file whose name carries the
      marker "pwn" anywhere outside the roots (the data-root's snapshots,
      container upper dirs; the context dir must be gone), and the daemon
      still answering. Prints one line per case and entry point; exits 1 on
      any failure.

Expectations follow what dockerd does for each entry point where berth can
match it safely; docs/security.md ("Hostile archives") lists the deliberate
differences (a layer entry through a symlink is refused, not followed inside
the root; ADD cleans ".." instead of refusing).
"""

import gzip
import hashlib
import http.client
import io
import json
import os
import socket
import stat
import sys
import tarfile
import time
import urllib.parse

MARK = "pwn"
DEEP = "../" * 40  # more ".." than any root is deep


# ------------------------------------------------------------ raw tar blocks

def _octal(n, width):
    s = ("%0*o" % (width - 1, n)).encode()
    if len(s) > width - 1:
        raise ValueError("field overflow")
    return s + b"\0"


def header(name, size=0, typ=b"0", link=b"", mode=0o644, uid=0, gid=0, major=0, minor=0, mtime=1700000000,
           size_field=None):
    """One ustar header block; name/link are bytes written verbatim (cut at 100)."""
    if isinstance(name, str):
        name = name.encode()
    if isinstance(link, str):
        link = link.encode()
    h = bytearray(512)
    h[0:100] = name[:100].ljust(100, b"\0")
    h[100:108] = _octal(mode, 8)
    h[108:116] = _octal(uid, 8)
    h[116:124] = _octal(gid, 8)
    h[124:136] = size_field if size_field is not None else _octal(size, 12)
    h[136:148] = _octal(mtime, 12)
    h[148:156] = b" " * 8
    h[156:157] = typ
    h[157:257] = link[:100].ljust(100, b"\0")
    h[257:265] = b"ustar\x0000"
    h[329:337] = _octal(major, 8)
    h[337:345] = _octal(minor, 8)
    h[148:156] = ("%06o\0 " % sum(h)).encode()
    return bytes(h)


def pad(data):
    return data + b"\0" * ((512 - len(data) % 512) % 512)


def long_names(name, link):
    """A pax header carrying path/linkpath longer than the ustar fields, as tar writers do."""
    recs = []
    if len(name.encode() if isinstance(name, str) else name) > 100:
        recs.append(("path", name))
    if len(link.encode() if isinstance(link, str) else link) > 100:
        recs.append(("linkpath", link))
    return pax(recs) if recs else b""


def entry(name, data=b"", **kw):
    return long_names(name, kw.get("link", b"")) + header(name, size=len(data), **kw) + pad(data)


def pax(records, typ=b"x"):
    body = b""
    for k, v in records:
        if isinstance(k, str):
            k = k.encode()
        if isinstance(v, str):
            v = v.encode()
        rec = b" " + k + b"=" + v + b"\n"
        n = len(rec) + 1
        while len(str(n).encode()) + len(rec) != n:
            n = len(str(n).encode()) + len(rec)
        body += str(n).encode() + rec
    return header(b"PaxHeaders/x", size=len(body), typ=typ) + pad(body)


def gnu_long(name, typ=b"L"):
    if isinstance(name, str):
        name = name.encode()
    data = name + b"\0"
    return header(b"././@LongLink", size=len(data), typ=typ) + pad(data)


END = b"\0" * 1024


def reg(name, data=b"x", mode=0o644, **kw):
    return entry(name, data if isinstance(data, bytes) else data.encode(), mode=mode, **kw)


def dirent(name, mode=0o755):
    n = name if name.endswith("/") else name + "/"
    return long_names(n, b"") + header(n, typ=b"5", mode=mode)


def sym(name, target):
    return long_names(name, target) + header(name, typ=b"2", link=target, mode=0o777)


def hard(name, target):
    return long_names(name, target) + header(name, typ=b"1", link=target)


# ------------------------------------------------------------------- cases

# Expected outcome per entry point: "ok" (accepted), "refused" (an error
# answer with a message), "any" (either, the no-escape checks still apply).
# "inside": checks on the result for an accepted case, per entry point:
#   ("file", REL, CONTENT) a regular file REL with CONTENT below the root
#   ("mode", REL, MODE)    REL's permission bits (07777) are MODE
#   ("absent", REL)        REL does not exist below the root
#   ("type", REL, "lnk"|"chr"|"blk"|"fifo"|"dir"|"reg")
#   ("xattr", REL, NAME, True/False) the xattr is (not) set
#   ("uid", REL, N)
#   ("size", REL, N), ("blocks-under", REL, N) size, and bytes on disk below N

def cases(canary):
    c = canary.strip("/")
    C = []

    def case(name, data, exp, inside=None, note=""):
        C.append({"name": name, "data": data, "exp": exp, "inside": inside or {}, "note": note})

    L = {"import": "refused", "load": "refused", "cp": "refused", "ctx": "refused", "add": "ok"}

    # 1-3: ".." in names. cp and build contexts refuse as dockerd ("outside
    # of"), layers refuse, ADD cleans the name into the destination.
    case("dotdot", reg(DEEP + c + "/pwn-dotdot") + END, L,
         {"add": [("file", "add/" + c + "/pwn-dotdot", "x")]})
    case("dotdot-inner", reg("a/b/../../../" + MARK + "-inner") + END, L,
         {"add": [("file", "add/" + MARK + "-inner", "x")]})
    case("dotdot-dir", dirent("d") + reg("d/../../" + MARK + "-dd") + END, L)
    # 4: absolute name: rebased inside the root everywhere.
    allok = {"import": "ok", "load": "ok", "cp": "ok", "ctx": "ok", "add": "ok"}
    case("absolute", reg("/" + c + "/pwn-abs") + END, allok,
         {"import": [("file", c + "/pwn-abs", "x")], "load": [("file", c + "/pwn-abs", "x")],
          "cp": [("file", "cp/absolute/" + c + "/pwn-abs", "x")], "add": [("file", "add/" + c + "/pwn-abs", "x")]})
    # 5-8: writes through symlinks. Layers refuse a path through a symlink;
    # cp and contexts follow it inside the root (chroot semantics).
    through = {"import": "refused", "load": "refused", "cp": "ok", "ctx": "any", "add": "refused"}
    case("abs-symlink-dir", sym("l", "/" + c) + reg("l/pwn-abslink") + END, through,
         {"cp": [("file", c + "/pwn-abslink", "x"), ("type", "cp/abs-symlink-dir/l", "lnk")]})
    case("rel-symlink-dir", sym("l", DEEP + c) + reg("l/pwn-rellink") + END,
         {"import": "refused", "load": "refused", "cp": "ok", "ctx": "refused", "add": "refused"},
         {"cp": [("file", c + "/pwn-rellink", "x")]})
    case("symlink-chain", sym("a", "b") + sym("b", "c") + sym("c", DEEP + c) + reg("a/pwn-chain") + END,
         {"import": "refused", "load": "refused", "cp": "ok", "ctx": "refused", "add": "refused"},
         {"cp": [("file", c + "/pwn-chain", "x")]})
    case("symlink-chain-abs", sym("x", "y") + sym("y", "/") + reg("x/" + c + "/pwn-chainabs") + END, through,
         {"cp": [("file", c + "/pwn-chainabs", "x")]})
    # 9: an absolute symlink target is stored as is (it resolves inside
    # the container's root when used).
    case("abs-symlink-kept", sym("etc-link", "/" + c + "/secret") + END, allok,
         {"import": [("type", "etc-link", "lnk")], "cp": [("type", "cp/abs-symlink-kept/etc-link", "lnk")]})
    # 10-14: hard links.
    case("hardlink-dotdot", hard("h", DEEP + c + "/secret") + END,
         {"import": "refused", "load": "refused", "cp": "refused", "ctx": "refused", "add": "any"})
    case("hardlink-abs", hard("h", "/" + c + "/secret") + END,
         {"import": "refused", "load": "refused", "cp": "refused", "ctx": "refused", "add": "refused"})
    case("hardlink-through-symlink", sym("l", "/" + c) + hard("h", "l/secret") + END,
         {"import": "refused", "load": "refused", "cp": "refused", "ctx": "refused", "add": "refused"})
    case("hardlink-to-symlink-out", sym("s", "/" + c + "/secret") + hard("h", "s") + END, allok,
         {"import": [("type", "h", "lnk")], "cp": [("type", "cp/hardlink-to-symlink-out/h", "lnk")]})
    # pax hard link carrying data: the data must not go through the link's
    # target when that is a symlink (libarchive opens hard links with data).
    case("hardlink-data-symlink", sym("s", "/" + c + "/secret") +
         pax([("size", "5")]) + header("h", size=5, typ=b"1", link="s") + pad(b"pwned") + END, "any")
    case("hardlink-to-dir", dirent("d") + hard("h", "d") + END, "refusedexceptadd")
    # 15-17: replacing what an earlier entry made.
    case("symlink-then-dir", sym("d", "/" + c) + dirent("d") + reg("d/pwn-swap") + END, allok,
         {"import": [("type", "d", "dir"), ("file", "d/pwn-swap", "x")], "load": [("type", "d", "dir")],
          "cp": [("type", "cp/symlink-then-dir/d", "dir"), ("file", "cp/symlink-then-dir/d/pwn-swap", "x")],
          "add": [("type", "add/d", "dir"), ("file", "add/d/pwn-swap", "x")]})
    case("dir-then-symlink-root", dirent("d") + sym("d", "/") + reg("d/" + c + "/pwn-dirsym") + END, "any")
    case("file-then-dir", reg("x", "one") + dirent("x") + reg("x/y", "two") + END, allok,
         {"import": [("file", "x/y", "two")], "cp": [("file", "cp/file-then-dir/x/y", "two")],
          "add": [("file", "add/x/y", "two")]})
    case("duplicate-entries", reg("dup", "one") + reg("dup", "two") + END, allok,
         {"import": [("file", "dup", "two")], "load": [("file", "dup", "two")],
          "cp": [("file", "cp/duplicate-entries/dup", "two")], "add": [("file", "add/dup", "two")]})
    case("file-over-symlink-out", sym("s", "/" + c + "/bin") + reg("s", "pwned", mode=0o4755) + END, allok,
         {"import": [("file", "s", "pwned"), ("mode", "s", 0o4755)], "cp": [("file", "cp/file-over-symlink-out/s", "pwned")]})
    # 18: whiteouts.
    case("whiteout-dotdot", reg(DEEP + c + "/.wh.secret") + reg("sub/.wh..", "") + reg(".wh...", "") + END,
         {"import": "refused", "load": "refused", "cp": "refused", "ctx": "refused", "add": "any"})
    case("whiteout-through-symlink", sym("l", "/" + c) + reg("l/.wh.secret", "") + reg("l/.wh..wh..opq", "") + END,
         {"import": "refused", "load": "refused", "cp": "ok", "ctx": "any", "add": "refused"})
    # 19: setuid/setgid kept inside the root.
    case("setuid", reg("suid", "#!/bin/sh\n", mode=0o4755) + reg("sgid", "#!/bin/sh\n", mode=0o2755) + END, allok,
         {"import": [("mode", "suid", 0o4755), ("mode", "sgid", 0o2755)],
          "load": [("mode", "suid", 0o4755)], "cp": [("mode", "cp/setuid/suid", 0o4755)],
          "add": [("mode", "add/suid", 0o4755)]})
    # 20-21: device nodes and fifos: layers create them inside the root (as
    # dockerd); cp creates them as dockerd's cp does; contexts skip them.
    case("devices", header("cdev", typ=b"3", major=1, minor=3, mode=0o666) +
         header("bdev", typ=b"4", major=7, minor=0, mode=0o660) + header("fifo", typ=b"6", mode=0o644) + END, allok,
         {"import": [("type", "cdev", "chr"), ("type", "bdev", "blk"), ("type", "fifo", "fifo")],
          "cp": [("type", "cp/devices/cdev", "chr"), ("type", "cp/devices/fifo", "fifo")],
          "add": [("type", "add/cdev", "chr"), ("type", "add/fifo", "fifo")]})
    case("device-dotdot", long_names(DEEP + c + "/pwn-dev", b"") + header(DEEP + c + "/pwn-dev", typ=b"3", major=1, minor=3) + END, L)
    # 22-25: long names.
    longname = "/".join(["d" * 200] * 3) + "/" + MARK + "-long"
    case("gnu-longlink", gnu_long(longname) + entry(b"ignored", b"long") + END, allok,
         {"import": [("file", longname, "long")], "cp": [("file", "cp/gnu-longlink/" + longname, "long")]})
    case("gnu-longlink-dotdot", gnu_long(DEEP + c + "/pwn-gnulong") + entry(b"ignored", b"x") + END, L)
    case("pax-path-override", pax([("path", DEEP + c + "/pwn-pax")]) + entry(b"innocent", b"x") + END, L)
    case("pax-linkpath-override", pax([("linkpath", DEEP + c + "/secret")]) + hard("h", "innocent") + END,
         {"import": "refused", "load": "refused", "cp": "refused", "ctx": "refused", "add": "any"})
    deep = "/".join(["n" * 250] * 20) + "/" + MARK + "-deep"  # > PATH_MAX
    case("path-over-path-max", pax([("path", deep)]) + entry(b"x", b"deep") + END, "any")
    # 26-29: odd names.
    case("nul-in-pax-path", pax([("path", b"ok-nul\0" + (DEEP + c + "/pwn-nul").encode())]) + entry(b"x", b"x") + END, "any",
         {"import": [("file", "ok-nul", "x")], "cp": [("file", "cp/nul-in-pax-path/ok-nul", "x")]})
    case("nul-in-ustar-name", entry(b"ok\0" + b"../../" + MARK.encode(), b"x") + END, allok,
         {"import": [("file", "ok", "x")], "cp": [("file", "cp/nul-in-ustar-name/ok", "x")]})
    case("empty-name", entry(b"", b"x") + END, "any")
    case("dot-and-dotslashdotdot", dirent(".") + reg("./..", "x") + reg("./../" + MARK + "-dsd") + END,
         {"import": "refused", "load": "refused", "cp": "refused", "ctx": "refused", "add": "any"})
    # 30: huge owner ids.
    case("huge-uid-gid", pax([("uid", "4294967301"), ("gid", "99999999999")]) + entry(b"bigid", b"x") +
         entry(b"maxid", b"x", uid=0o7777777, gid=0o7777777) + END, "any",
         {"import": [("uid", "bigid", 5), ("uid", "maxid", 0o7777777)],
          "cp": [("uid", "cp/huge-uid-gid/bigid", 0)]})
    # 31-33: malformed archives.
    t = reg("first", "ok") + header("trunc", size=4096) + b"A" * 700
    case("truncated", t, {"import": "refused", "load": "refused", "cp": "refused", "ctx": "refused", "add": "any"})
    case("size-beyond-archive", header("big", size=(1 << 33) - 1) + b"B" * 1024 + END,
         {"import": "refused", "load": "refused", "cp": "refused", "ctx": "refused", "add": "any"})
    case("bad-checksum", bytes(bytearray(header("x", size=1))[0:148]) + b"0000000\0" + b"\0" * 356 + pad(b"x") + END,
         "any")
    # 34: sparse entry (pax 0.0) whose map points far beyond its data.
    case("sparse", pax([("GNU.sparse.offset", "0"), ("GNU.sparse.numbytes", "1"), ("GNU.sparse.offset", "1073741824"),
                        ("GNU.sparse.numbytes", "1"), ("GNU.sparse.size", "1073741825"),
                        ("GNU.sparse.name", "sparse-" + MARK)]) + entry(b"GNUSparseFile.0/x", b"ab") + END, allok,
         {"import": [("size", "sparse-" + MARK, 1073741825), ("blocks-under", "sparse-" + MARK, 1 << 20)],
          "cp": [("size", "cp/sparse/sparse-" + MARK, 1073741825), ("blocks-under", "cp/sparse/sparse-" + MARK, 1 << 20)]})
    # 35: xattrs.
    case("xattrs", pax([("SCHILY.xattr.security.capability", b"\x01\x00\x00\x02\x00\x20\x00\x00" + b"\0" * 12),
                        ("SCHILY.xattr.trusted.overlay.opaque", "y"), ("SCHILY.xattr.user.note", "kept")]) +
         entry(b"xfile", b"x", mode=0o755) + END, allok,
         {"import": [("xattr", "xfile", "security.capability", True), ("xattr", "xfile", "trusted.overlay.opaque", False)]})
    # 36: a gzip bomb (24 MiB of zeros in 24 KiB): refused beyond the
    # expansion ratio (checked past 16 MiB), nothing left behind.
    bomb = gzip.compress(header("zeros", size=24 << 20) + b"\0" * (24 << 20) + END, 6)
    case("gzip-bomb", bomb, {"import": "refused", "load": "refused", "cp": "refused", "ctx": "refused", "add": "refused"})
    return C


def expectation(case, ep):
    e = case["exp"]
    if isinstance(e, dict):
        return e[ep]
    if e == "refusedexceptadd":
        return "any" if ep == "add" else "refused"
    return e


# ------------------------------------------------------------------- gen

def plant(canary):
    os.makedirs(canary + "/dir", exist_ok=True)
    for n, data, mode in (("secret", b"canary secret\n", 0o600), ("bin", b"#!/bin/sh\n", 0o755),
                          ("dir/inner", b"inner\n", 0o644)):
        with open(os.path.join(canary, n), "wb") as f:
            f.write(data)
        os.chmod(os.path.join(canary, n), mode)


def listing(top):
    """path -> (type, mode, size, sha256/link, xattrs) for every entry below top (no following)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for n in dirnames + filenames + [""]:
            p = os.path.join(dirpath, n) if n else dirpath
            st = os.lstat(p)
            h = ""
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    h = hashlib.sha256(f.read()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                h = os.readlink(p)
            try:
                xs = tuple(sorted(os.listxattr(p, follow_symlinks=False)))
            except OSError:
                xs = ()
            out[os.path.relpath(p, top)] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_size,
                                            st.st_uid, h, xs, st.st_nlink)
    return out


def gen(d, canary):
    os.makedirs(d, exist_ok=True)
    plant(canary)
    meta = []
    for c in cases(canary):
        data = c.pop("data")
        with open(os.path.join(d, c["name"] + ".tar"), "wb") as f:
            f.write(data)
        raw = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        c["diff"] = "sha256:" + hashlib.sha256(raw).hexdigest()
        # the build context: a Dockerfile first, compressed like the case
        df = entry("Dockerfile", b"FROM busybox\n")
        with open(os.path.join(d, c["name"] + ".ctx"), "wb") as f:
            f.write(gzip.compress(df + raw, 6) if raw is not data else df + data)
        meta.append(c)
    with open(os.path.join(d, "cases.json"), "w") as f:
        json.dump(meta, f)
    with open(os.path.join(d, "canary.json"), "w") as f:
        json.dump({k: list(v) for k, v in listing(canary).items()}, f)
    print(len(meta))


# ------------------------------------------------------------------- run

class UnixConn(http.client.HTTPConnection):
    def __init__(self, path, timeout=60):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.path)
        self.sock = s


def request(sock, method, path, body=None, ctype="application/x-tar"):
    c = UnixConn(sock)
    try:
        c.request(method, "/v1.41" + path, body=body, headers={"Content-Type": ctype} if body is not None else {})
        r = c.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        c.close()


def stream_error(status, text):
    """(failed, message) of a JSON-stream answer (import, load, build) or a plain one."""
    if status >= 400:
        try:
            return True, json.loads(text).get("message", text)
        except ValueError:
            return True, text
    for line in text.splitlines():
        try:
            j = json.loads(line)
        except ValueError:
            continue
        if isinstance(j, dict) and (j.get("error") or j.get("errorDetail")):
            return True, j.get("error") or json.dumps(j.get("errorDetail"))
    return False, ""


def tar_of(files):
    """A plain tar of (name, bytes) regular files."""
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT) as t:
        for n, data in files:
            i = tarfile.TarInfo(n)
            i.size = len(data)
            i.mtime = 1700000000
            t.addfile(i, io.BytesIO(data))
    return bio.getvalue()


def load_archive(layer, diff, tag):
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                      "rootfs": {"type": "layers", "diff_ids": [diff]}}).encode()
    cfghex = hashlib.sha256(cfg).hexdigest()
    manifest = json.dumps([{"Config": cfghex + ".json", "RepoTags": [tag], "Layers": ["layer/layer.tar"]}]).encode()
    return tar_of([("manifest.json", manifest), (cfghex + ".json", cfg), ("layer/layer.tar", layer)]), diff


def snapshot_root(dataroot, diff):
    return os.path.join(dataroot, "snapshots", diff[7:], "fs")


def check_inside(root, checks):
    errs = []
    for chk in checks:
        kind, rel = chk[0], chk[1]
        p = os.path.join(root, rel)
        try:
            if kind == "file":
                st = os.lstat(p)
                if not stat.S_ISREG(st.st_mode):
                    errs.append(f"{rel}: not a regular file")
                else:
                    with open(p, "rb") as f:
                        got = f.read().decode("utf-8", "replace")
                    if got != chk[2]:
                        errs.append(f"{rel}: content {got!r}, want {chk[2]!r}")
            elif kind == "mode":
                m = stat.S_IMODE(os.lstat(p).st_mode)
                if m != chk[2]:
                    errs.append(f"{rel}: mode {m:o}, want {chk[2]:o}")
            elif kind == "absent":
                if os.path.lexists(p):
                    errs.append(f"{rel}: exists")
            elif kind == "type":
                m = os.lstat(p).st_mode
                got = {stat.S_IFLNK: "lnk", stat.S_IFCHR: "chr", stat.S_IFBLK: "blk", stat.S_IFIFO: "fifo",
                       stat.S_IFDIR: "dir", stat.S_IFREG: "reg"}.get(stat.S_IFMT(m), "?")
                if got != chk[2]:
                    errs.append(f"{rel}: type {got}, want {chk[2]}")
            elif kind == "xattr":
                try:
                    names = os.listxattr(p, follow_symlinks=False)
                except OSError as e:
                    names = []
                if (chk[2] in names) != chk[3]:
                    errs.append(f"{rel}: xattr {chk[2]} {'missing' if chk[3] else 'present'}")
            elif kind == "size":
                if os.lstat(p).st_size != chk[2]:
                    errs.append(f"{rel}: size {os.lstat(p).st_size}, want {chk[2]}")
            elif kind == "blocks-under":  # a sparse file stays sparse: bytes on disk below chk[2]
                if os.lstat(p).st_blocks * 512 >= chk[2]:
                    errs.append(f"{rel}: {os.lstat(p).st_blocks * 512} bytes on disk")
            elif kind == "uid":
                if os.lstat(p).st_uid != chk[2]:
                    errs.append(f"{rel}: uid {os.lstat(p).st_uid}")
        except OSError as e:
            errs.append(f"{rel}: {e.strerror}")
    return errs


def allowed_mark(path, dataroot):
    """A marker file may exist only inside a root: a snapshot's fs or a container's upper dir."""
    rel = os.path.relpath(path, dataroot)
    parts = rel.split(os.sep)
    if rel.startswith(".."):
        return False
    if len(parts) >= 3 and parts[0] == "snapshots" and parts[2] == "fs":
        return True
    if len(parts) >= 3 and parts[0] == "containers" and parts[2] in ("upper", "merged"):
        return True
    return False


def marked_outside(scan_roots, dataroot, skip):
    bad = []
    for top in scan_roots:
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = [n for n in dirnames if os.path.join(dirpath, n) not in skip]
            for n in dirnames + filenames:
                if MARK in n:
                    p = os.path.join(dirpath, n)
                    if not allowed_mark(p, dataroot):
                        bad.append(p)
    return bad


def container_root(sock, cid):
    st, text = request(sock, "GET", f"/containers/{cid}/json")
    pid = json.loads(text)["State"]["Pid"]
    return f"/proc/{pid}/root"


def run(sock, d, canary, cid, dataroot, eps):
    allc = {c["name"]: c for c in json.load(open(os.path.join(d, "cases.json")))}
    names = list(allc)
    before = json.load(open(os.path.join(d, "canary.json")))
    croot = container_root(sock, cid) if "cp" in eps else None
    parent = os.path.dirname(canary.rstrip("/"))
    failures = []
    counts = {"ok": 0, "refused": 0}
    results = {}

    def fail(msg):
        failures.append(msg)
        print("FAIL " + msg, flush=True)

    for name in names:
        c = allc[name]
        data = open(os.path.join(d, name + ".tar"), "rb").read()
        for ep in eps:
            want = expectation(c, ep)
            checks = c["inside"].get(ep, [])
            root = None
            t0 = time.time()
            if ep == "import":
                st, text = request(sock, "POST", "/images/create?fromSrc=-&repo=hostile-imp&tag=" + name, data)
                failed, msg = stream_error(st, text)
                if not failed:
                    root = snapshot_root(dataroot, c["diff"])
            elif ep == "load":
                body, diff = load_archive(data, c["diff"], "hostile-load:" + name)
                st, text = request(sock, "POST", "/images/load?quiet=1", body)
                failed, msg = stream_error(st, text)
                root = snapshot_root(dataroot, diff)
            elif ep == "cp":
                st, text = request(sock, "PUT", f"/containers/{cid}/archive?path=/cp/{name}", data)
                failed, msg = stream_error(st, text)
                root = croot
            elif ep == "ctx":
                ctx = open(os.path.join(d, name + ".ctx"), "rb").read()
                st, text = request(sock, "POST", "/build?rm=1&t=hostile-ctx", ctx)
                failed, msg = stream_error(st, text)
            elif ep == "add":
                ctx = tar_of([("Dockerfile", b"FROM busybox\nADD case.tar /add/\n"), ("case.tar", data)])
                st, text = request(sock, "POST", "/build?rm=1&t=hostile-add:" + name, ctx)
                failed, msg = stream_error(st, text)
                if not failed:
                    root = None
                    for line in text.splitlines():
                        pass
                    # the ADD layer is the image's top snapshot: find it by the image's layers.
                    sti, info = request(sock, "GET", f"/images/hostile-add:{name}/json")
                    if sti == 200:
                        layers = json.loads(info)["RootFS"]["Layers"]
                        chain = layers[0]
                        for l in layers[1:]:
                            chain = "sha256:" + hashlib.sha256((chain + " " + l).encode()).hexdigest()
                        root = snapshot_root(dataroot, chain)
            dt = time.time() - t0
            got = "refused" if failed else "ok"
            counts[got] += 1
            results[(name, ep)] = got
            line = f"{name:28s} {ep:6s} {got:8s} {dt:5.2f}s {msg.strip()[:110] if failed else ''}"
            print(line, flush=True)
            if failed and not msg.strip():
                fail(f"{name}/{ep}: refused without a message")
            if failed and st >= 500 and ep not in ("import", "load"):
                fail(f"{name}/{ep}: refused with HTTP {st} (a server error, not a refusal): {msg[:200]}")
            if want != "any" and want != got:
                fail(f"{name}/{ep}: expected {want}, got {got} {msg[:200]}")
            if not failed and checks and root:
                for e in check_inside(root, checks):
                    fail(f"{name}/{ep}: inside: {e}")
            now = json.loads(json.dumps(listing(canary)))
            if before != now:
                fail(f"{name}/{ep}: the sentinel tree changed: " +
                     json.dumps({k: now.get(k) for k in set(now) | set(before) if now.get(k) != before.get(k)})[:400])
                plant(canary)
            if request(sock, "GET", "/_ping")[0] != 200:
                fail(f"{name}/{ep}: berthd stopped answering")
                return 1
    bad = marked_outside([parent], dataroot, set())
    for top in ("/", "/tmp", "/etc", os.path.dirname(parent)):
        bad += [os.path.join(top, n) for n in os.listdir(top) if MARK in n]
    for p in bad:
        fail(f"escaped: {p}")
    tmpdir = os.path.join(dataroot, "build", "tmp")
    left = [n for n in os.listdir(tmpdir) if n.startswith("docker-builder")] if os.path.isdir(tmpdir) else []
    if left:
        fail(f"build contexts left behind: {left}")
    ingest = os.path.join(dataroot, "content", "ingest")
    if os.path.isdir(ingest) and os.listdir(ingest):
        fail(f"ingest not empty: {os.listdir(ingest)}")
    snaps = os.path.join(dataroot, "snapshots")
    tmps = [n for n in os.listdir(snaps) if n.startswith(".tmp")]
    if tmps:
        fail(f"snapshot temp dirs left: {tmps}")
    print(f"{len(names)} cases x {len(eps)} entry points: {counts['ok']} accepted, {counts['refused']} refused, "
          f"{len(failures)} failures")
    return 1 if failures else 0


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "gen":
        gen(sys.argv[2], sys.argv[3])
        return 0
    if len(sys.argv) >= 7 and sys.argv[1] == "run":
        eps = sys.argv[7:] or ["import", "load", "cp", "ctx", "add"]
        return run(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], eps)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
