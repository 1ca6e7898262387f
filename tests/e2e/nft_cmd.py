#!/usr/bin/env python3
"""Runs one nft command through libnftables (ctypes), for tests on hosts
without the nft binary: `nft_cmd.py 'list table inet berth'`. Prints nft's
output; exits 1 with nft's error when the command fails (e.g. no such table).
Only `list ...` and `delete table inet NAME` (a test removing the table its
own berthd made) are accepted: tests never touch other rules."""
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

cmd = " ".join(sys.argv[1:])
if not (cmd.startswith("list ") or cmd.startswith("delete table inet ")):
    sys.exit("nft_cmd.py: only 'list ...' and 'delete table inet NAME'")
ctx = lib.nft_ctx_new(0)
lib.nft_ctx_buffer_output(ctx)
lib.nft_ctx_buffer_error(ctx)
rc = lib.nft_run_cmd_from_buffer(ctx, cmd.encode())
out = lib.nft_ctx_get_output_buffer(ctx) or b""
err = lib.nft_ctx_get_error_buffer(ctx) or b""
sys.stdout.write(out.decode())
sys.stderr.write(err.decode())
lib.nft_ctx_free(ctx)
sys.exit(1 if rc != 0 else 0)
