#!/usr/bin/env python3
"""critest-summary.py: counts and failures of a critest run, from the JSON
report ginkgo writes (critest -ginkgo.json-report FILE).

    scripts/critest-summary.py REPORT.json

Prints the pass/fail/skip counts of all specs and of the [Conformance] specs
separately, the reasons of the specs that skipped themselves (a feature the
runtime does not report), then the failed specs grouped by area (pods, containers,
security context, streaming, images, networking, logs, stats, runtime info),
each with the first line of its failure and where critest failed, after
the most frequent of those lines (one missing RPC fails many specs). Exits 0
when no spec failed, 1 otherwise, 2 when the report cannot be read.
Used by scripts/critest.sh; see docs/cri.md "Running critest and crictl".
"""
import json
import re
import sys
from collections import defaultdict

AREA_OF_DESCRIBE = {
    "PodSandbox": "pods",
    "Idempotence": "pods",
    "Runtime info": "runtime info",
    "Container": "containers",
    "Container Mount Propagation": "containers",
    "Container Mount Readonly": "containers",
    "Container OOM": "containers",
    "Multiple Containers [Conformance]": "containers",
    "Security Context": "security context",
    "SELinux": "security context",
    "AppArmor": "security context",
    "Streaming": "streaming",
    "Image Manager": "images",
    "Networking": "networking",
}
AREAS = ["pods", "containers", "security context", "streaming", "images",
         "networking", "logs", "stats", "runtime info", "other"]


def area_of(hierarchy, leaf):
    """The area a spec belongs to: stats and logs specs by their text, the
    rest by their top-level Describe."""
    text = " ".join(hierarchy + [leaf]).lower()
    if "stats" in text or "metric" in text:
        return "stats"
    if re.search(r"\blogs?\b|reopen", text):
        return "logs"
    top = re.sub(r"^\[k8s\.io\]\s*", "", hierarchy[0]) if hierarchy else ""
    if top == "Idempotence":  # by the RPC named in the spec
        rest = " ".join(hierarchy[1:] + [leaf])
        for word, area in (("PodSandbox", "pods"), ("Image", "images"), ("Container", "containers")):
            if word in rest:
                return area
    return AREA_OF_DESCRIBE.get(top, "other")


def shorten(text):
    """UUIDs become <uuid> (so equal failures group) and words longer than
    48 characters (CRI container names) are cut."""
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", text)
    text = re.sub(r"\bk8s_[^\s:)]+", "k8s_<name>", text)  # kubelet-style container names
    return re.sub(r"\S{49,}", lambda m: m.group(0)[:40] + "…", text)


def first_line(msg):
    """The failure's first line; when it only introduces what follows
    ("Unexpected error:", gomega's "Expected"), with the informative lines
    after it (gomega puts type headers such as "<*fmt.wrapError | 0xc0001>: "
    and struct dumps between)."""
    lines = [l.strip() for l in (msg or "").splitlines() if l.strip()]
    if not lines:
        return "(no message)"
    head = lines[0]
    if head.endswith(":") or head == "Expected":
        want = 1 if head.endswith(":") else 3
        for l in lines[1:]:
            if want == 0 or l == "{":
                break
            if re.fullmatch(r"<[^>]*>:?|[{}]", l):
                continue
            head = head + " " + re.sub(r"^<[^>]*>:\s*", "", l)
            want -= 1
    return shorten(head)[:400]


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as f:
            reports = json.load(f)
    except (OSError, ValueError) as e:
        print(f"critest-summary: cannot read {argv[1]}: {e}", file=sys.stderr)
        return 2
    counts = defaultdict(int)
    conf = defaultdict(int)
    failed = defaultdict(list)
    self_skipped = defaultdict(int)  # reason -> specs that called Skip()
    suite_failures = []
    for report in reports:
        for spec in report.get("SpecReports") or []:
            hierarchy = spec.get("ContainerHierarchyTexts") or []
            leaf = spec.get("LeafNodeText", "")
            state = spec.get("State", "unknown")
            fail = spec.get("Failure") or {}
            if spec.get("LeafNodeType") != "It":
                if state not in ("passed", "skipped"):
                    suite_failures.append((spec.get("LeafNodeType"), state, first_line(fail.get("Message"))))
                continue
            name = " ".join(hierarchy + [leaf])
            # panicked, timedout, interrupted and aborted count as failed
            kind = state if state in ("passed", "skipped", "pending") else "failed"
            counts[kind] += 1
            if "[Conformance]" in name:
                conf[kind] += 1
            if kind == "skipped" and fail.get("Message"):
                self_skipped[first_line(fail.get("Message"))] += 1
            if kind == "failed":
                loc = fail.get("Location") or {}
                where = f'{loc.get("FileName", "?").rsplit("/", 1)[-1]}:{loc.get("LineNumber", "?")}'
                failed[area_of(hierarchy, leaf)].append((name, state, first_line(fail.get("Message")), where))

    def line(title, c):
        total = sum(c.values())
        return (f"{title}: {total} specs: {c['passed']} passed, {c['failed']} failed, "
                f"{c['skipped']} skipped" + (f", {c['pending']} pending" if c["pending"] else ""))

    print(line("critest", counts))
    print(line("[Conformance]", conf))
    if self_skipped:
        print("skipped by the specs themselves (the rest by -ginkgo.skip or critest's own benchmark skip):")
        for reason, k in sorted(self_skipped.items(), key=lambda kv: -kv[1]):
            print(f"  {k:3d}x {reason}")
    for kind, state, msg in suite_failures:
        print(f"suite node {kind} {state}: {msg}")
    if failed:
        freq = defaultdict(int)
        example = {}
        for specs in failed.values():
            for _, _, msg, where in specs:
                key = re.sub(r"\d+", "N", msg)  # "256 characters" and "259 characters" alike
                freq[key] += 1
                example.setdefault(key, f"{msg}  ({where})")
        print("most frequent failures:")
        for key, k in sorted(freq.items(), key=lambda kv: -kv[1])[:8]:
            print(f"  {k:3d}x {example[key]}")
        print("failed specs by area:")
        for area in AREAS:
            if not failed[area]:
                continue
            print(f"  {area} ({len(failed[area])}):")
            for name, state, msg, where in sorted(failed[area]):
                tag = "" if state == "failed" else f" [{state}]"
                print(f"    - {name}{tag}\n        {msg}  ({where})")
    return 1 if failed or suite_failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
