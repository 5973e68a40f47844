#!/usr/bin/env python3
"""Assembles and checks the APK's zip layout.

    apk.py assemble --resources RES.apk --out OUT.apk [--dex DIR] [--lib DIR] [--java-res JAR...]
        RES.apk (aapt2 link's output) + classes*.dex + lib/<abi>/*.so + the Java
        resources of library jars (service files, Kotlin builtins). Native
        libraries are stored uncompressed with their data 16 KiB aligned (so the
        loader maps them straight from the APK on 16 KiB-page devices), other
        stored entries 4-byte aligned, as zipalign -p does for 4 KiB pages; the
        alignment is recorded in zipalign's extra field (0xd935), which
        apksigner keeps when it signs.
    apk.py check APK
        fails unless every lib/**.so is stored and 16 KiB aligned and every
        other stored entry 4-byte aligned.
"""

import argparse
import struct
import sys
import zipfile
from pathlib import Path

SO_ALIGN = 16384
ALIGN = 4
ALIGN_EXTRA_ID = 0xD935
FIXED_TIME = (2008, 1, 1, 0, 0, 0)  # reproducible entries
# Java resources of library jars an app needs at run time (AGP packages them too).
JAVA_RES_PREFIXES = ("META-INF/services/",)
JAVA_RES_SUFFIXES = (".kotlin_builtins",)


def aligned_info(name, offset, align):
    """A stored ZipInfo whose data starts at a multiple of align when its local header is at offset."""
    info = zipfile.ZipInfo(name, FIXED_TIME)
    info.compress_type = zipfile.ZIP_STORED
    info.create_system = 0
    header = 30 + len(name.encode())
    extra_len = 6  # id, size, alignment value: the smallest extra field
    pad = (-(offset + header + extra_len)) % align
    info.extra = struct.pack("<HHH", ALIGN_EXTRA_ID, 2 + pad, align) + b"\0" * pad
    return info


def add(zout, name, data, compress):
    if compress:
        info = zipfile.ZipInfo(name, FIXED_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.create_system = 0
    else:
        align = SO_ALIGN if name.endswith(".so") else ALIGN
        info = aligned_info(name, zout.fp.tell(), align)
    zout.writestr(info, data)


def assemble(args):
    names = set()
    with zipfile.ZipFile(args.out, "w") as zout:
        with zipfile.ZipFile(args.resources) as res:
            # The manifest first, then what aapt2 wrote, keeping its compression
            # (resources.arsc must stay stored for targetSdk 30+).
            infos = sorted(res.infolist(), key=lambda i: i.filename != "AndroidManifest.xml")
            for info in infos:
                add(zout, info.filename, res.read(info), info.compress_type != zipfile.ZIP_STORED)
                names.add(info.filename)
        if args.dex:
            for dex in sorted(Path(args.dex).glob("classes*.dex"), key=lambda p: (len(p.name), p.name)):
                add(zout, dex.name, dex.read_bytes(), True)
                names.add(dex.name)
        if args.lib:
            for so in sorted(Path(args.lib).glob("*/*.so")):
                name = f"lib/{so.parent.name}/{so.name}"
                add(zout, name, so.read_bytes(), False)
                names.add(name)
        for jar in args.java_res or []:
            with zipfile.ZipFile(jar) as z:
                for info in z.infolist():
                    n = info.filename
                    if info.is_dir() or n in names:
                        continue
                    if n.startswith(JAVA_RES_PREFIXES) or n.endswith(JAVA_RES_SUFFIXES):
                        add(zout, n, z.read(info), True)
                        names.add(n)


def data_offset(fp, info):
    fp.seek(info.header_offset)
    head = fp.read(30)
    name_len, extra_len = struct.unpack("<HH", head[26:30])
    return info.header_offset + 30 + name_len + extra_len


def check(apk):
    problems, libs = [], 0
    with zipfile.ZipFile(apk) as z, open(apk, "rb") as fp:
        for info in z.infolist():
            name = info.filename
            if name.startswith("lib/") and name.endswith(".so"):
                libs += 1
                if info.compress_type != zipfile.ZIP_STORED:
                    problems.append(f"{name} is compressed")
                elif data_offset(fp, info) % SO_ALIGN:
                    problems.append(f"{name} starts at {data_offset(fp, info)}, not a multiple of {SO_ALIGN}")
            elif info.compress_type == zipfile.ZIP_STORED and data_offset(fp, info) % ALIGN:
                problems.append(f"{name} is stored unaligned")
    if problems:
        sys.exit("apk: FAILED: " + "; ".join(problems))
    if not libs:
        sys.exit("apk: FAILED: no native libraries in the APK")
    print(f"apk: {libs} native libraries stored and {SO_ALIGN // 1024} KiB aligned, other stored entries {ALIGN}-byte aligned")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("assemble")
    a.add_argument("--resources", required=True)
    a.add_argument("--out", required=True)
    a.add_argument("--dex")
    a.add_argument("--lib")
    a.add_argument("--java-res", nargs="*")
    c = sub.add_parser("check")
    c.add_argument("apk")
    args = ap.parse_args()
    assemble(args) if args.cmd == "assemble" else check(args.apk)


if __name__ == "__main__":
    main()
