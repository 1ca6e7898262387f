#!/usr/bin/env python3
"""The layering rules of docs/architecture.md, checked against the code.

Each src/ folder may include only the folders listed for it in ALLOWED
(besides itself and the standard/system headers). A folder not in the table
is an error: a new folder states its place here and in docs/architecture.md.
No class or struct in src/ may declare more than MAX_PURE pure virtual
methods (STYLE.md 2: small role interfaces).

Prints one line per violation and exits 1 when there is any; prints a short
summary and exits 0 otherwise. Usage: scripts/check-layering.py [REPO_ROOT]
"""
import os
import re
import sys

MAX_PURE = 15

# folder -> folders it may include (itself is always allowed).
ALLOWED = {
    "common": set(),
    "store": {"common"},
    "content": {"common"},
    "snapshot": {"common"},
    "registry": {"common"},
    "runtime": {"common"},
    "monitor": {"common", "runtime"},
    "volume": {"common", "store"},
    "network": {"common", "store"},
    "dns": {"common", "network"},
    "image": {"common", "content", "registry", "snapshot", "store"},
    "container": {"common", "image", "monitor", "network", "runtime", "store", "volume"},
    "build": {"common", "container", "image"},
    "api": {"common", "container", "image", "registry", "volume", "network", "build"},
    "cri": {"common", "container", "image", "network", "registry", "runtime", "volume"},
    "pause": set(),
    "cli": {"common", "registry", "image", "network", "build"},
    "daemon": {"api", "build", "common", "container", "cri", "image", "network", "registry", "runtime", "store", "volume"},
}
# cli may use only these files of image/ and network/ (the CLI stays lean:
# no SQLite, no libarchive, no netlink/nftables; both are pure libraries).
CLI_IMAGE_FILES = {"image/reference.h"}
CLI_NETWORK_FILES = {"network/ports.h", "network/ipam.h"}
# ... and only this file of build/: `berth build` tars the context itself and
# honours .dockerignore with the same matcher as the daemon (a pure module
# on common/, its own small library berth_dockerignore).
CLI_BUILD_FILES = {"build/dockerignore.h"}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
CLASS = re.compile(r'\b(class|struct)\s+(\w+)[^;{()]*\{')
PURE = re.compile(r'\bvirtual\b[^;{}]*=\s*0\s*;')


def class_bodies(text):
    for m in CLASS.finditer(text):
        i, depth = m.end(), 1
        while depth and i < len(text):
            c = text[i]
            depth += (c == "{") - (c == "}")
            i += 1
        yield m.group(2), text[m.end():i]


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    src = os.path.join(root, "src")
    problems, files = [], 0
    for folder in sorted(os.listdir(src)):
        path = os.path.join(src, folder)
        if not os.path.isdir(path):
            continue
        if folder not in ALLOWED:
            problems.append(f"src/{folder}/: not in the layering table (scripts/check-layering.py, docs/architecture.md)")
            continue
        for dirpath, _, names in os.walk(path):
            for name in sorted(names):
                if not name.endswith((".h", ".cpp")):
                    continue
                files += 1
                rel = os.path.relpath(os.path.join(dirpath, name), root)
                text = open(os.path.join(dirpath, name), encoding="utf-8", errors="replace").read()
                for inc in INCLUDE.findall(text):
                    top = inc.split("/", 1)[0]
                    if "/" not in inc or top == folder or top not in ALLOWED:
                        continue
                    if top not in ALLOWED[folder]:
                        problems.append(f"{rel}: includes \"{inc}\": {folder}/ may not include {top}/")
                    elif folder == "cli" and top == "image" and inc not in CLI_IMAGE_FILES:
                        problems.append(f"{rel}: includes \"{inc}\": cli/ may use only {sorted(CLI_IMAGE_FILES)} of image/")
                    elif folder == "cli" and top == "network" and inc not in CLI_NETWORK_FILES:
                        problems.append(f"{rel}: includes \"{inc}\": cli/ may use only {sorted(CLI_NETWORK_FILES)} of network/")
                if name.endswith(".h"):
                    for cls, body in class_bodies(text):
                        n = len(PURE.findall(body))
                        if n > MAX_PURE:
                            problems.append(f"{rel}: {cls} has {n} pure virtual methods (at most {MAX_PURE})")
    for p in problems:
        print(p)
    if problems:
        print(f"layering: {len(problems)} problem(s) in {files} files")
        return 1
    print(f"layering: {files} files follow the table")
    return 0


if __name__ == "__main__":
    sys.exit(main())
