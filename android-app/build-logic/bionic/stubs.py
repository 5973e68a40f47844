#!/usr/bin/env python3
"""Builds bionic stub libraries (libc.so, libm.so, libdl.so, liblog.so) to link
Android shared libraries against without an NDK, as the NDK's own stubs are
made: only the symbols of one architecture that arrived at or below the API
level, libc/libm/libdl with their version nodes (LIBC, LIBC_N, LIBC_O, ...),
liblog unversioned. Linking with -z defs then fails on any symbol newer than
the API level, as with the NDK.

    stubs.py --arch arm64|x86_64 --api N --zig ZIG --out DIR
"""

import argparse
import subprocess
import sys
from pathlib import Path

SYMBOLS = Path(__file__).with_name("symbols.tsv")
ZIG_TARGET = {"arm64": "aarch64-linux-musl", "x86_64": "x86_64-linux-musl"}
LIBS = ("libc", "libm", "libdl", "liblog")
UNVERSIONED_LIBS = {"liblog"}


def symbols(arch, api):
    """lib -> list of (node or None, symbol, kind, weak)."""
    out = {lib: [] for lib in LIBS}
    for line in SYMBOLS.read_text().splitlines():
        if line.startswith("#"):
            continue
        lib, node, sym, sym_arch, level, kind, weak, versioned_from = line.split("\t")
        if sym_arch != arch or int(level) > api:
            continue
        versioned = lib not in UNVERSIONED_LIBS and int(versioned_from) <= api
        out[lib].append((node if versioned else None, sym, kind, weak == "weak"))
    return out


def assembly(entries):
    lines = []
    for _, sym, kind, weak in entries:
        binding = ".weak" if weak else ".globl"
        if kind == "data":
            lines += [".data", f"{binding} {sym}", f".type {sym}, %object", f".size {sym}, 8", f"{sym}:", ".zero 8"]
        else:
            lines += [".text", f"{binding} {sym}", f".type {sym}, %function", f"{sym}:", ".zero 4"]
    return "\n".join(lines) + "\n"


def version_script(entries):
    nodes = {}
    for node, sym, _, _ in entries:
        if node:
            nodes.setdefault(node, []).append(sym)
    return "".join(f"{node} {{\n  global:\n" + "".join(f"    {s};\n" for s in syms) + "};\n" for node, syms in nodes.items())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", required=True, choices=sorted(ZIG_TARGET))
    ap.add_argument("--api", required=True, type=int)
    ap.add_argument("--zig", required=True)
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for lib, entries in symbols(args.arch, args.api).items():
        if not entries:
            sys.exit(f"stubs: no {lib} symbols for {args.arch} at API {args.api}")
        src, vers = args.out / f"{lib}.S", args.out / f"{lib}.map"
        src.write_text(assembly(entries))
        vers.write_text(version_script(entries))
        cmd = [args.zig, "cc", "-target", ZIG_TARGET[args.arch], "-shared", "-nostdlib", "-fPIC",
               f"-Wl,-soname,{lib}.so", "-o", str(args.out / f"{lib}.so"), str(src)]
        if vers.read_text():
            cmd.insert(-1, f"-Wl,--version-script,{vers}")
        subprocess.run(cmd, check=True)
    print(f"stubs: {args.arch} API {args.api} -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
