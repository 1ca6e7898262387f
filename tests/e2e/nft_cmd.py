#!/usr/bin/env python3
"""Runs one nft command through libnftables (ctypes), for tests on hosts
without the nft binary: `nft_cmd.py 'list table inet berth'`. Prints nft's
output; exits 1 with nft's error when the command fails (e.g. no such table).
Only `list ...`, `delete table inet NAME` (a test removing the table its
own berthd made) and `delete table ip|ip6 nat|filter|mangle` of a table
that holds no rule (iptables-nft made it for a CNI plugin a test ran:
scripts/critest-lib.sh) are accepted: tests never touch other rules."""
import ctypes
import sys

lib = ctypes.CDLL("libnftables.so.1")
lib.nft_ctx_new.restype = ctypes.c_void_p
lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
lib.nft_ctx_buffer_output.argtypes = [ctypes.c_void_p]
lib.nft_ctx_buffer_error.argtypes = [ctypes.c_void_p]
lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
lib.nft_ctx_get_output_buffer.restype = ctypes.c_char_p
lib.nft_ctx_get_output_buffer.argtypes = [ctypes.c_void_p]
lib.nft_ctx_get_error_buffer.restype = ctypes.c_char_p
lib.nft_ctx_get_error_buffer.argtypes = [ctypes.c_void_p]
lib.nft_ctx_free.argtypes = [ctypes.c_void_p]


def run(cmd):
    ctx = lib.nft_ctx_new(0)
    lib.nft_ctx_buffer_output(ctx)
    lib.nft_ctx_buffer_error(ctx)
    rc = lib.nft_run_cmd_from_buffer(ctx, cmd.encode())
    out = (lib.nft_ctx_get_output_buffer(ctx) or b"").decode()
    err = (lib.nft_ctx_get_error_buffer(ctx) or b"").decode()
    lib.nft_ctx_free(ctx)
    return rc, out, err


cmd = " ".join(sys.argv[1:])
words = cmd.split()
iptables_table = (len(words) == 4 and words[:2] == ["delete", "table"] and words[2] in ("ip", "ip6")
                  and words[3] in ("nat", "filter", "mangle"))
if not (cmd.startswith("list ") or cmd.startswith("delete table inet ") or iptables_table):
    sys.exit("nft_cmd.py: only 'list ...', 'delete table inet NAME' and 'delete table ip|ip6 nat|filter|mangle'")
if iptables_table:
    rc, out, err = run(f"list table {words[2]} {words[3]}")
    if rc != 0:
        sys.stderr.write(err)
        sys.exit(1)
    rules = [l for l in out.splitlines()
             if l.strip() and not l.strip().startswith(("table ", "chain ", "type ", "}"))]
    if rules:
        sys.exit(f"nft_cmd.py: table {words[2]} {words[3]} holds rules: not deleted")
rc, out, err = run(cmd)
sys.stdout.write(out)
sys.stderr.write(err)
sys.exit(1 if rc != 0 else 0)
