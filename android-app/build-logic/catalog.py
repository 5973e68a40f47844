#!/usr/bin/env python3
"""Reads android-app/gradle/libs.versions.toml, the one list of versions.

    catalog.py version NAME      the version of [versions] NAME
    catalog.py module ALIAS      group:artifact:version of [libraries] ALIAS
    catalog.py bundle NAME       group:artifact:version of each library of a bundle
"""

import sys
import tomllib
from pathlib import Path

CATALOG = Path(__file__).resolve().parents[2] / "android-app/gradle/libs.versions.toml"


def load(path=CATALOG):
    with open(path, "rb") as f:
        return tomllib.load(f)


def version(cat, name):
    try:
        return cat["versions"][name]
    except KeyError:
        sys.exit(f"catalog: no version '{name}' in {CATALOG}")


def module(cat, alias):
    try:
        lib = cat["libraries"][alias]
    except KeyError:
        sys.exit(f"catalog: no library '{alias}' in {CATALOG}")
    ver = lib.get("version")
    if isinstance(ver, dict):
        ver = version(cat, ver["ref"])
    elif ver is None:
        ver = version(cat, lib["version.ref"]) if "version.ref" in lib else None
    if ver is None:
        sys.exit(f"catalog: library '{alias}' has no version")
    return f"{lib['module']}:{ver}"


def bundle(cat, name):
    try:
        aliases = cat["bundles"][name]
    except KeyError:
        sys.exit(f"catalog: no bundle '{name}' in {CATALOG}")
    return [module(cat, a) for a in aliases]


def main(argv):
    if len(argv) != 3 or argv[1] not in ("version", "module", "bundle"):
        sys.exit(__doc__)
    cat = load()
    kind, name = argv[1], argv[2]
    if kind == "version":
        print(version(cat, name))
    elif kind == "module":
        print(module(cat, name))
    else:
        print("\n".join(bundle(cat, name)))


if __name__ == "__main__":
    main(sys.argv)
