#!/usr/bin/env python3
"""Derives symbols.tsv, the facts the bionic stub libraries are built from,
out of bionic's and liblog's symbol map files (not part of this repository).

    derive_symbols.py BIONIC_CHECKOUT LIBLOG_MAP > symbols.tsv

Kept: the symbols an app may link against (the NDK's view) on arm64 and
x86_64, with the version node, the API level each arrived at per architecture,
and whether it is data or weak. Dropped: private and platform version nodes,
symbols for the platform, vendor or APEX modules only (llndk, apex,
systemapi, platform-only), other architectures. Run it again when a newer
API level is needed; the stubs themselves are made by stubs.py.
"""

import re
import sys
from pathlib import Path

ARCHES = ("arm64", "x86_64")
ALL_ARCHES = {"arm", "arm64", "x86", "x86_64", "riscv64"}
HIDDEN_TAGS = {"llndk", "apex", "systemapi", "platform-only", "future"}
# Codenames some map files use for API levels.
CODENAMES = {"O": 26, "O-MR1": 27, "P": 28, "Q": 29, "R": 30, "S": 31, "Tiramisu": 33, "UpsideDownCake": 34, "VanillaIceCream": 35}


def api(value):
    return CODENAMES[value] if value in CODENAMES else int(value)


def tags_of(comment):
    return comment.split() if comment else []


def introduced(tags, arch, default):
    """The API level a symbol or node arrived at on arch, or default."""
    found = default
    for t in tags:
        if t.startswith("introduced="):
            found = api(t.split("=", 1)[1])
    for t in tags:
        if t.startswith(f"introduced-{arch}="):
            found = api(t.split("=", 1)[1])
    return found


def arches_of(tags):
    named = [t for t in tags if t in ALL_ARCHES]
    return set(named) if named else ALL_ARCHES


def parse(text, lib):
    """Yields (lib, node, symbol, arch, api, kind, weak, versioned_from)."""
    node, node_tags = None, []
    for raw in text.splitlines():
        line, _, comment = raw.partition("#")
        line, tags = line.strip(), tags_of(comment)
        if not line:
            continue
        m = re.match(r"^([A-Za-z0-9_]+)\s*\{$", line)
        if m:
            node, node_tags = m.group(1), tags
            continue
        if line.startswith("}"):
            node = None
            continue
        if line in ("global:", "local:") or line.endswith("*;") or node is None:
            continue
        if node.endswith(("_PRIVATE", "_PLATFORM", "_DEPRECATED")) or HIDDEN_TAGS & set(node_tags):
            continue
        if HIDDEN_TAGS & set(tags):
            continue
        symbol = line.rstrip(";").strip()
        for arch in ARCHES:
            if arch not in arches_of(tags) or arch not in arches_of(node_tags):
                continue
            level = introduced(tags, arch, introduced(node_tags, arch, 0))
            versioned = next((api(t.split("=", 1)[1]) for t in tags if t.startswith("versioned=")), 0)
            kind = "data" if "var" in tags else "func"
            weak = "weak" if "weak" in tags else "-"
            yield lib, node, symbol, arch, level, kind, weak, versioned


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    bionic, liblog = Path(sys.argv[1]), Path(sys.argv[2])
    maps = [("libc", bionic / "libc/libc.map.txt"), ("libm", bionic / "libm/libm.map.txt"),
            ("libdl", bionic / "libdl/libdl.map.txt"), ("liblog", liblog)]
    print("# Derived by derive_symbols.py from bionic's and liblog's symbol maps: the")
    print("# symbols apps may link against on arm64 and x86_64 (see stubs.py).")
    print("# lib\tversion_node\tsymbol\tarch\tapi\tkind\tweak\tversioned_from")
    rows = set()
    for lib, path in maps:
        rows.update(parse(path.read_text(), lib))
    for row in sorted(rows):
        print("\t".join(str(x) for x in row))


if __name__ == "__main__":
    main()
