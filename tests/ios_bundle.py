#!/usr/bin/env python3
"""What App Store Connect and Xcode check in the iOS app's bundle, checked on Linux.

tests/ios.sh runs this (Python's standard library only):
1. the privacy manifests (app and share extension) parse as plists, declare no
   tracking and no collected data, and give allowed reasons for each
   required-reason API; every such API the sources use (the app's Swift, the
   Rust crates linked into it) is declared in the manifest of the target that
   uses it;
2. the icon set: Contents.json names files that exist, PNGs of the declared
   size, 8-bit RGB without alpha (a 1024 px marketing icon with alpha is
   refused at upload);
3. the signing files: the entitlements parse, PAID has the memory
   entitlements and the app group, PERSONAL neither; Signing.xcconfig sets each
   variable project.yml and the entitlements use;
4. project.yml: versions from build settings in both Info.plists, the
   export-compliance key, the ImpKit dependency, the manifests as resources,
   and the app group id written nowhere but Signing.xcconfig.
"""
import json
import plistlib
import re
import struct
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "ios-app" / "ImpApp"

# Apple's required-reason API categories and the reason codes each accepts
# ("Describing use of required reason API", developer.apple.com).
REASONS = {
    "NSPrivacyAccessedAPICategoryFileTimestamp": {"DDA9.1", "C617.1", "3B52.1", "0A2A.1"},
    "NSPrivacyAccessedAPICategorySystemBootTime": {"35F9.1", "8FFB.1", "3D61.1"},
    "NSPrivacyAccessedAPICategoryDiskSpace": {"85F4.1", "E174.1", "7D9E.1", "B728.1"},
    "NSPrivacyAccessedAPICategoryActiveKeyboards": {"3EC4.1", "54BD.1"},
    "NSPrivacyAccessedAPICategoryUserDefaults": {"CA92.1", "1C8F.1", "C56D.1", "AC6B.1"},
}

# What in the sources calls a required-reason API (Swift names, and the libc
# calls Rust's std and our crates make: fs::metadata is stat, free_space is
# statvfs, Instant is the uptime clock).
USES = {
    "NSPrivacyAccessedAPICategoryUserDefaults": r"\bUserDefaults\b|@AppStorage|@SceneStorage",
    "NSPrivacyAccessedAPICategoryDiskSpace": r"volumeAvailableCapacity|volumeTotalCapacity|\bstatvfs\b|\bstatfs\b",
    "NSPrivacyAccessedAPICategoryFileTimestamp":
        r"creationDate|modificationDate|contentModificationDateKey|attributesOfItem|fs::metadata|\.metadata\(\)"
        r"|\.modified\(\)|\bfstat\b",
    "NSPrivacyAccessedAPICategorySystemBootTime": r"systemUptime|mach_absolute_time|Instant::now",
    "NSPrivacyAccessedAPICategoryActiveKeyboards": r"activeInputModes",
}

failures = []


def fail(message):
    failures.append(message)


def sources(*folders, suffixes=(".swift",)):
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.suffix in suffixes and "/.build/" not in str(path) and "/tests/" not in str(path):
                yield path


def used_categories(files):
    used = {}
    for path in files:
        text = path.read_text(errors="replace")
        for category, pattern in USES.items():
            if re.search(pattern, text):
                used.setdefault(category, path.relative_to(ROOT))
    return used


def check_manifest(manifest, files):
    name = manifest.relative_to(ROOT)
    try:
        plist = plistlib.loads(manifest.read_bytes())
    except Exception as error:  # noqa: BLE001 - any parse failure is the finding
        return fail(f"{name}: not a plist ({error})")
    if plist.get("NSPrivacyTracking") is not False:
        fail(f"{name}: NSPrivacyTracking must be false")
    for key in ("NSPrivacyTrackingDomains", "NSPrivacyCollectedDataTypes"):
        if plist.get(key) != []:
            fail(f"{name}: {key} must be an empty array (nothing is tracked or collected)")
    declared = {}
    for entry in plist.get("NSPrivacyAccessedAPITypes", None) or []:
        category = entry.get("NSPrivacyAccessedAPIType")
        reasons = entry.get("NSPrivacyAccessedAPITypeReasons") or []
        if category not in REASONS:
            fail(f"{name}: unknown API category {category!r}")
            continue
        if not reasons or not set(reasons) <= REASONS[category]:
            fail(f"{name}: {category} needs reasons among {sorted(REASONS[category])}, has {reasons}")
        declared[category] = reasons
    if "NSPrivacyAccessedAPITypes" not in plist:
        fail(f"{name}: NSPrivacyAccessedAPITypes missing (an empty array if none)")
    for category, where in used_categories(files).items():
        if category not in declared:
            fail(f"{name}: {where} uses a {category} API; declare it with its reason")
    print(f"{name}: no tracking, nothing collected, {len(declared)} API categories declared")


def png_facts(path):
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    if zlib.crc32(data[12:29]) & 0xFFFFFFFF != struct.unpack(">I", data[29:33])[0]:
        raise ValueError("IHDR checksum")
    return width, height, depth, colour


def check_icons():
    folder = APP / "App" / "Assets.xcassets" / "AppIcon.appiconset"
    contents = json.loads((folder / "Contents.json").read_text())
    images = contents.get("images", [])
    if not any(i.get("size") == "1024x1024" and "appearances" not in i for i in images):
        fail("AppIcon: no 1024x1024 icon for the default appearance (the marketing icon)")
    for image in images:
        filename = image.get("filename")
        if not filename:
            fail(f"AppIcon: an entry names no file: {image}")
            continue
        points = float(image["size"].split("x")[0])
        scale = float(image.get("scale", "1x").rstrip("x"))
        expected = round(points * scale)
        try:
            width, height, depth, colour = png_facts(folder / filename)
        except (OSError, ValueError) as error:
            fail(f"AppIcon/{filename}: {error}")
            continue
        if (width, height) != (expected, expected):
            fail(f"AppIcon/{filename}: {width}x{height}, the catalogue says {expected}x{expected}")
        if depth != 8 or colour != 2:
            fail(f"AppIcon/{filename}: must be 8-bit RGB without alpha (depth {depth}, colour type {colour})")
    if not (APP / "App" / "Assets.xcassets" / "Contents.json").exists():
        fail("Assets.xcassets/Contents.json missing")
    print(f"AppIcon: {len(images)} images, sizes and colour types as declared")


def xcconfig_settings():
    settings = {}
    for line in (APP / "Signing" / "Signing.xcconfig").read_text().splitlines():
        line = line.split("//")[0].strip()
        if "=" in line:
            key, value = (part.strip() for part in line.split("=", 1))
            settings[key] = value
    return settings


def check_signing(project):
    settings = xcconfig_settings()
    for key in ("DEVELOPMENT_TEAM", "IMP_BUNDLE_PREFIX", "IMP_APP_GROUP", "IMP_TEAM_KIND"):
        if key not in settings:
            fail(f"Signing.xcconfig: {key} is not set")
    if settings.get("IMP_TEAM_KIND") not in ("PAID", "PERSONAL"):
        fail("Signing.xcconfig: IMP_TEAM_KIND must be PAID or PERSONAL")
    if not settings.get("IMP_APP_GROUP", "").startswith("group."):
        fail("Signing.xcconfig: IMP_APP_GROUP must start with group.")
    memory = {"com.apple.developer.kernel.increased-memory-limit",
              "com.apple.developer.kernel.extended-virtual-addressing"}
    group = "com.apple.security.application-groups"
    for target in ("Imp", "ImpShare"):
        for kind in ("PAID", "PERSONAL"):
            path = APP / "Signing" / f"{target}-{kind}.entitlements"
            try:
                plist = plistlib.loads(path.read_bytes())
            except Exception as error:  # noqa: BLE001
                fail(f"{path.relative_to(ROOT)}: {error}")
                continue
            wants_memory = target == "Imp" and kind == "PAID"
            if wants_memory != (memory <= set(plist)):
                fail(f"{path.name}: the memory entitlements belong in Imp-PAID only")
            if (kind == "PAID") != (plist.get(group) == ["$(IMP_APP_GROUP)"]):
                fail(f"{path.name}: the app group is $(IMP_APP_GROUP), in the PAID files only")
        if f"Signing/{target}-$(IMP_TEAM_KIND).entitlements" not in project:
            fail(f"project.yml: {target} does not take its entitlements from Signing/ by IMP_TEAM_KIND")
    print("Signing: entitlements for a paid and a personal team, chosen in Signing.xcconfig")


def check_project(project):
    wanted = {
        "versions from build settings in both Info.plists":
            (r"CFBundleShortVersionString: \$\(MARKETING_VERSION\)", 2),
        "build numbers from build settings in both Info.plists":
            (r"CFBundleVersion: \$\(CURRENT_PROJECT_VERSION\)", 2),
        "export compliance key in both Info.plists": (r"ITSAppUsesNonExemptEncryption: false", 2),
        "the app group from the xcconfig in both Info.plists": (r"ImpAppGroup: \$\(IMP_APP_GROUP\)", 2),
        "the ImpKit dependency": (r"- package: ImpKit\s+product: ImpKit", 1),
        "the ImpKit package": (r"ImpKit:\s+path: \.\./ImpKit", 1),
        "the xcconfig for every configuration": (r"(Debug|Release): Signing/Signing\.xcconfig", 2),
        "privacy manifests as resources": (r"PrivacyInfo\.xcprivacy\s+buildPhase: resources", 2),
        "the marketing version": (r'MARKETING_VERSION: "\d+\.\d+\.\d+"', 1),
        "the build number": (r'CURRENT_PROJECT_VERSION: "\d+"', 1),
    }
    for what, (pattern, count) in wanted.items():
        found = len(re.findall(pattern, project))
        if found < count:
            fail(f"project.yml: {what} ({found} of {count})")
    if "DEVELOPMENT_TEAM" in project:
        fail("project.yml: DEVELOPMENT_TEAM would override Signing.xcconfig")
    literal = re.compile(r"group\.[a-z0-9]+\.[a-z0-9.]+")
    for path in [APP / "project.yml", *sources(APP / "App", APP / "ShareExtension", APP / "Sources")]:
        if literal.search(path.read_text()):
            fail(f"{path.relative_to(ROOT)}: an app group id written here; it lives in Signing.xcconfig only")
    print("project.yml: versions, export compliance, ImpKit, signing and manifests as required")


def main():
    rust = [ROOT / "rust-core" / crate / "src" for crate in ("core", "store")] + [ROOT / "uniffi" / "src"]
    app_files = list(sources(APP / "App", APP / "Sources" / "ImpAppLogic", APP / "Sources" / "PictureInbox",
                             ROOT / "ios-app" / "ImpKit" / "Sources" / "ImpKit"))
    app_files += list(sources(*rust, suffixes=(".rs",)))
    check_manifest(APP / "App" / "PrivacyInfo.xcprivacy", app_files)
    check_manifest(APP / "ShareExtension" / "PrivacyInfo.xcprivacy",
                   sources(APP / "ShareExtension", APP / "Sources" / "PictureInbox"))
    check_icons()
    project = (APP / "project.yml").read_text()
    check_signing(project)
    check_project(project)
    if failures:
        print("\n".join(["", "The iOS bundle would be refused:"] + [f"  - {f}" for f in failures]), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
