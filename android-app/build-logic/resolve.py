#!/usr/bin/env python3
"""Resolves a closure of Maven artifacts (jars and Android .aars) the way Gradle
would, with Maven only as the downloader.

Maven's own resolver cannot follow AndroidX poms (their dependencies omit
<type>aar</type>) and picks the nearest version, not the highest. So the poms
are walked here: each round downloads the poms still missing in one `mvn`
call (a generated pom listing them with `*:*` exclusions), then the graph is
walked again from the roots with the highest requested version of every
module, until nothing changes. Kotlin multiplatform roots (`ui` for
`ui-android`) are pom-only; jars whose classes another, newer jar of the
closure also holds (`collection` 1.0.0 and `collection-jvm` 1.4.4) are
dropped. Aars are unpacked once into the cache.

    resolve.py --cache DIR --out FILE.json [--aar G:A]... G:A:V...

writes the closure as JSON: one entry per artifact with its jars, and for an
aar its res/ directory, manifest package and jni/ directory. A result is
reused while its roots and files are unchanged, without running Maven.
"""

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

NS = "{http://maven.apache.org/POM/4.0.0}"
QUALIFIERS = {"alpha": 1, "a": 1, "beta": 2, "b": 2, "milestone": 3, "m": 3, "rc": 4, "cr": 4, "snapshot": 5, "": 6, "ga": 6, "final": 6, "release": 6, "sp": 7}


def version_key(v):
    """Maven-like ordering: numbers numerically, alpha < beta < rc < release."""
    key = []
    for part in re.findall(r"\d+|[a-zA-Z]+", v):
        if part.isdigit():
            key.append((2, int(part), ""))
        else:
            q = part.lower()
            key.append((1, QUALIFIERS.get(q, 0), q) if q in QUALIFIERS else (0, 0, q))
    # A trailing release marker: 1.0 == 1.0.0 > 1.0-rc1.
    while key and key[-1] in ((2, 0, ""), (1, 6, "")):
        key.pop()
    return [*key, (1, 6, "")] if not key or key[-1][0] == 2 else key


def pick_version(spec):
    """A plain version, or the version a range like [1.7.6] or [1.0,2.0) pins."""
    spec = spec.strip()
    if spec[:1] in "[(":
        bounds = spec.strip("[]()").split(",")
        return bounds[0].strip() or bounds[-1].strip()
    return spec


class Pom:
    def __init__(self, path):
        root = ET.parse(path).getroot()
        self.text = path.read_text(errors="replace")
        self.root = root
        g = self._t(root, "groupId")
        parent = root.find(NS + "parent")
        self.parent = None
        if parent is not None:
            self.parent = (self._t(parent, "groupId"), self._t(parent, "artifactId"), self._t(parent, "version"))
        self.group = g or (self.parent[0] if self.parent else None)
        self.artifact = self._t(root, "artifactId")
        self.version = self._t(root, "version") or (self.parent[2] if self.parent else None)
        self.packaging = self._t(root, "packaging") or "jar"
        self.properties = {}
        props = root.find(NS + "properties")
        if props is not None:
            for p in props:
                self.properties[p.tag.replace(NS, "")] = (p.text or "").strip()
        reloc = root.find(f"{NS}distributionManagement/{NS}relocation")
        self.relocation = None
        if reloc is not None:
            self.relocation = (
                self._t(reloc, "groupId") or self.group,
                self._t(reloc, "artifactId") or self.artifact,
                self._t(reloc, "version") or self.version,
            )
        self.deps = self._deps(root.find(NS + "dependencies"))
        self.managed = self._deps(root.find(f"{NS}dependencyManagement/{NS}dependencies"))

    @staticmethod
    def _t(node, tag):
        child = node.find(NS + tag)
        return child.text.strip() if child is not None and child.text else None

    def _deps(self, node):
        out = []
        for d in node if node is not None else []:
            excl = set()
            for e in d.findall(f"{NS}exclusions/{NS}exclusion"):
                excl.add((self._t(e, "groupId") or "*", self._t(e, "artifactId") or "*"))
            out.append({
                "group": self._t(d, "groupId"),
                "artifact": self._t(d, "artifactId"),
                "version": self._t(d, "version"),
                "scope": self._t(d, "scope") or "compile",
                "type": self._t(d, "type") or "jar",
                "classifier": self._t(d, "classifier"),
                "optional": self._t(d, "optional") == "true",
                "exclusions": frozenset(excl),
            })
        return out


class Repo:
    """The local Maven repository, filled by `mvn dependency:resolve`."""

    def __init__(self, local):
        self.local = Path(local)
        self.poms = {}
        # Versions some pom asks for that Maven Central does not have (e.g.
        # lifecycle-runtime-compose-android 2.8.3): fine while a higher one wins.
        self.absent_file = self.local / "absent.txt"
        self.absent = set()
        if self.absent_file.exists():
            self.absent = {tuple(line.split(":")) for line in self.absent_file.read_text().split()}

    def path(self, g, a, v, ext):
        return self.local / g.replace(".", "/") / a / v / f"{a}-{v}.{ext}"

    def pom(self, g, a, v):
        key = (g, a, v)
        if key not in self.poms:
            p = self.path(g, a, v, "pom")
            self.poms[key] = Pom(p) if p.exists() else None
        return self.poms[key]

    def download(self, coords):
        """coords: (group, artifact, version, type) tuples, fetched in one Maven run."""
        coords = sorted(set(coords) - {(*gav, "pom") for gav in self.absent})
        if coords:
            print(f"resolve: fetching {len(coords)} files from Maven Central", file=sys.stderr)
        while coords:
            err = self._mvn(coords)
            if err is None:
                return
            gone = re.findall(r"([\w.-]+):([\w.-]+):(?:pom|jar|aar):([\w.-]+) (?:was not found|could not be found)", err)
            gone = {x for x in gone if (*x, "pom") in coords}
            if not gone:
                sys.stderr.write(err)
                sys.exit(f"resolve: mvn could not fetch {len(coords)} artifacts (see above)")
            self.absent |= gone
            self.absent_file.write_text("".join(f"{':'.join(x)}\n" for x in sorted(self.absent)))
            coords = [c for c in coords if c[:3] not in gone]

    def _mvn(self, coords):
        deps = "".join(
            f"<dependency><groupId>{g}</groupId><artifactId>{a}</artifactId><version>{v}</version>"
            f"<type>{t}</type><exclusions><exclusion><groupId>*</groupId><artifactId>*</artifactId>"
            f"</exclusion></exclusions></dependency>"
            for g, a, v, t in coords
        )
        pom = (
            '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
            "<groupId>local.imp</groupId><artifactId>closure</artifactId><version>0</version>"
            f"<packaging>pom</packaging><dependencies>{deps}</dependencies></project>"
        )
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "pom.xml").write_text(pom)
            run = subprocess.run(
                ["mvn", "-q", "-B", "-U", f"-Dmaven.repo.local={self.local}", "-f", f"{tmp}/pom.xml", "dependency:resolve"],
                capture_output=True, text=True,
            )
        for g, a, v, t in coords:
            self.poms.pop((g, a, v), None)
        return None if run.returncode == 0 else run.stdout[-4000:] + run.stderr[-2000:]


class Resolver:
    def __init__(self, repo):
        self.repo = repo
        self.missing = set()

    def _pom(self, g, a, v):
        pom = self.repo.pom(g, a, v)
        if pom is None and (g, a, v) not in self.repo.absent:
            self.missing.add((g, a, v, "pom"))
        return pom

    def _chain(self, pom):
        """The pom and its parents, nearest first (None if a parent is missing)."""
        chain = [pom]
        while chain[-1].parent:
            parent = self._pom(*chain[-1].parent)
            if parent is None:
                return None
            chain.append(parent)
        return chain

    def _interpolate(self, value, chain):
        if value is None or "${" not in value:
            return value
        props = {}
        for pom in reversed(chain):
            props.update(pom.properties)
        head = chain[0]
        props.update({"project.version": head.version, "pom.version": head.version, "version": head.version,
                      "project.groupId": head.group, "pom.groupId": head.group,
                      "project.parent.version": head.parent[2] if head.parent else head.version})
        for _ in range(5):
            value = re.sub(r"\$\{([^}]+)\}", lambda m: props.get(m.group(1), m.group(0)), value)
        return value

    def _managed(self, chain, depth=0):
        """dependencyManagement of a pom chain, imported boms included."""
        out = {}
        for pom in reversed(chain):
            for d in pom.managed:
                g, a = self._interpolate(d["group"], chain), self._interpolate(d["artifact"], chain)
                v = self._interpolate(d["version"], chain)
                if d["scope"] == "import" and d["type"] == "pom" and depth < 4 and v:
                    bom = self._pom(g, a, v)
                    bom_chain = bom and self._chain(bom)
                    if bom_chain:
                        out.update(self._managed(bom_chain, depth + 1))
                elif v:
                    out[(g, a)] = v
        return out

    def dependencies(self, g, a, v):
        """(group, artifact, version, exclusions) this module needs at run time, or None if poms are missing."""
        pom = self._pom(g, a, v)
        chain = pom and self._chain(pom)
        if not chain:
            return None
        if pom.relocation:
            return [(*pom.relocation, frozenset())]
        managed = None
        out = []
        for d in pom.deps:
            if d["optional"] or d["scope"] not in ("compile", "runtime"):
                continue
            dg, da = self._interpolate(d["group"], chain), self._interpolate(d["artifact"], chain)
            dv = self._interpolate(d["version"], chain)
            if not dv:
                managed = managed if managed is not None else self._managed(chain)
                dv = managed.get((dg, da))
            if not dv or "${" in dv:
                sys.exit(f"resolve: {g}:{a}:{v} needs {dg}:{da} at a version its pom does not give")
            out.append((dg, da, pick_version(dv), d["exclusions"]))
        return out

    def is_kmp_root(self, pom):
        """A multiplatform module whose Android/JVM code is another artifact."""
        return "published-with-gradle-metadata" in pom.text and any(
            d["group"] == pom.group and d["artifact"] in (pom.artifact + "-android", pom.artifact + "-jvm")
            for d in pom.deps
        )

    def constraints(self, g, a, v):
        """Versions a Gradle-published pom pins for modules it does not depend on
        itself (same-version groups such as all of Compose UI) are its
        dependencyManagement; its platforms (kotlinx-coroutines-bom) are boms
        imported there. Gradle honours both."""
        pom = self._pom(g, a, v)
        if pom is None or "published-with-gradle-metadata" not in pom.text:
            return []
        managed = list(pom.managed)
        for d in pom.managed:
            if d["scope"] == "import" and d["version"]:
                bom = self._pom(d["group"], d["artifact"], pick_version(d["version"]))
                managed += bom.managed if bom else []
        return [((d["group"], d["artifact"]), pick_version(d["version"])) for d in managed
                if d["version"] and d["scope"] != "import" and "${" not in d["version"]]

    def resolve(self, roots):
        """Highest requested version of every module reachable from the roots."""
        selected = {}
        rounds = 0
        for _ in range(50):
            self.missing = set()
            requests = {}
            constraints = {}
            excl = {}
            queue = []
            for g, a, v in roots:
                requests.setdefault((g, a), set()).add(v)
                excl[(g, a)] = frozenset()
                queue.append((g, a))
            while queue:
                ga = queue.pop()
                version = selected.get(ga) or max(requests[ga], key=version_key)
                for cga, cv in self.constraints(*ga, version):
                    constraints.setdefault(cga, set()).add(cv)
                deps = self.dependencies(*ga, version)
                for dg, da, dv, edge_excl in deps or []:
                    if any(eg in ("*", dg) and ea in ("*", da) for eg, ea in excl[ga]):
                        continue
                    dga = (dg, da)
                    requests.setdefault(dga, set()).add(dv)
                    path_excl = excl[ga] | edge_excl
                    # Excluded only where every path excludes it (as Gradle does).
                    new = path_excl if dga not in excl else excl[dga] & path_excl
                    if dga not in excl or new != excl[dga]:
                        excl[dga] = new
                        queue.append(dga)
            new_selected = {ga: max(vs | constraints.get(ga, set()), key=version_key) for ga, vs in requests.items()}
            rounds += 1
            if not self.missing and new_selected == selected:
                gone = [f"{g}:{a}:{v}" for (g, a), v in selected.items() if (g, a, v) in self.repo.absent]
                if gone:
                    sys.exit(f"resolve: not on Maven Central: {', '.join(gone)}")
                print(f"resolve: {len(selected)} modules after {rounds} rounds", file=sys.stderr)
                return selected
            selected = new_selected
            self.repo.download(self.missing)
        sys.exit("resolve: versions did not settle after 50 rounds")


def class_names(jar):
    with zipfile.ZipFile(jar) as z:
        return {n for n in z.namelist() if n.endswith(".class") and not n.startswith("META-INF/") and n != "module-info.class"}


def unpack_aar(aar, dest):
    """classes.jar, libs/, res/, jni/ and the manifest of an aar, unpacked once."""
    done = dest / ".unpacked"
    if not done.exists():
        with zipfile.ZipFile(aar) as z:
            z.extractall(dest)
        done.touch()
    info = {"jars": [], "res": None, "package": None, "jni": None}
    if (dest / "classes.jar").exists():
        info["jars"].append(str(dest / "classes.jar"))
    info["jars"] += sorted(str(p) for p in (dest / "libs").glob("*.jar"))
    res = dest / "res"
    if res.is_dir() and any(res.iterdir()):
        info["res"] = str(res)
    if (dest / "jni").is_dir():
        info["jni"] = str(dest / "jni")
    manifest = dest / "AndroidManifest.xml"
    if manifest.exists():
        info["package"] = ET.parse(manifest).getroot().get("package")
    return info


def closure(cache, roots, aars):
    repo = Repo(cache / "m2")
    resolver = Resolver(repo)
    selected = resolver.resolve(roots)
    entries, fetch = [], []
    for (g, a), v in sorted(selected.items()):
        pom = repo.pom(g, a, v)
        if pom.relocation or pom.packaging == "pom" or resolver.is_kmp_root(pom):
            continue
        # --aar: a jar module that also publishes an aar for Android (JNA).
        ext = "aar" if pom.packaging == "aar" or f"{g}:{a}" in aars else "jar"
        entries.append({"module": f"{g}:{a}", "version": v, "ext": ext, "file": str(repo.path(g, a, v, ext))})
        if not Path(entries[-1]["file"]).exists():
            fetch.append((g, a, v, ext))
    repo.download(fetch)
    for e in entries:
        if e["ext"] == "aar":
            g, a = e["module"].split(":")
            e.update(unpack_aar(Path(e["file"]), cache / "aars" / g / f"{a}-{e['version']}"))
        else:
            e.update({"jars": [e["file"]], "res": None, "package": None, "jni": None})
    return drop_duplicate_classes(entries)


def drop_duplicate_classes(entries):
    """Multiplatform relocations leave two jars with one set of classes: keep the newer."""
    classes = {e["module"]: set().union(*(class_names(j) for j in e["jars"])) if e["jars"] else set() for e in entries}
    owner = {}
    dropped = set()
    for e in entries:
        for c in classes[e["module"]]:
            owner.setdefault(c, []).append(e)
    pairs = {}
    for c, es in owner.items():
        for i in range(len(es)):
            for j in range(i + 1, len(es)):
                key = (es[i]["module"], es[j]["module"])
                pairs[key] = pairs.get(key, 0) + 1
    by_module = {e["module"]: e for e in entries}
    for (m1, m2), shared in sorted(pairs.items()):
        e1, e2 = by_module[m1], by_module[m2]
        smaller = min(len(classes[m1]), len(classes[m2]))
        if shared * 2 < smaller:
            print(f"resolve: warning: {m1} and {m2} share {shared} classes", file=sys.stderr)
            continue
        older = min((e1, e2), key=lambda e: (version_key(e["version"]), len(classes[e["module"]])))
        dropped.add(older["module"])
        print(f"resolve: dropped {older['module']}:{older['version']} (its classes are in the other of {m1}, {m2})", file=sys.stderr)
    return [e for e in entries if e["module"] not in dropped]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--aar", action="append", default=[], help="take this module's aar artifact (G:A)")
    ap.add_argument("roots", nargs="+")
    args = ap.parse_args()
    roots = [tuple(r.split(":")) for r in args.roots]
    if any(len(r) != 3 for r in roots):
        sys.exit("resolve: roots are group:artifact:version")
    key = hashlib.sha256(json.dumps([sorted(args.roots), sorted(args.aar), Path(__file__).read_bytes().hex()]).encode()).hexdigest()
    if args.out.exists():
        old = json.loads(args.out.read_text())
        if old.get("key") == key and all(Path(j).exists() for e in old["artifacts"] for j in e["jars"]):
            return
    entries = closure(args.cache, roots, set(args.aar))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"key": key, "artifacts": entries}, indent=1))
    size = sum(Path(e["file"]).stat().st_size for e in entries)
    print(f"resolve: {len(entries)} artifacts, {size / 1e6:.1f} MB -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
