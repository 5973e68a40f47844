#!/usr/bin/env python3
"""Measures the phone-only first run on a computer: `imp models download ID`
against the loopback hub (`imp-test-hub`) serving a checkpoint directory (a
random one of the real size from random_checkpoint.py), as the apps do it.

Prints the download and conversion times (the conversion starts when the
store's partial output appears), the imp process's peak resident and peak
anonymous memory (sampled from /proc every 50 ms), and the peak disk taken by
the store and the hub cache together (allocated blocks, sampled likewise).

Usage: python tests/bench/hub_install.py CHECKPOINT_DIR [--entry imp-3b-196]
         [--imp target/release/imp] [--hub target/release/imp-test-hub]
         [--keep DIR]
Build both binaries first: cargo build --release -p imp-cli -p imp-test-hub
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def catalogue_repo(entry):
    catalog = json.loads((ROOT / "models" / "catalog.json").read_text())
    for model in catalog["models"]:
        if model["id"] == entry:
            return model["source"]["repo"]
    sys.exit(f"no catalogue entry {entry}")


def status_kb(pid, field):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def disk_bytes(*dirs):
    total = 0
    for d in dirs:
        for root, _, files in os.walk(d):
            for f in files:
                try:
                    total += os.lstat(os.path.join(root, f)).st_blocks * 512
                except OSError:
                    pass
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("--entry", default="imp-3b-196")
    ap.add_argument("--imp", default=str(ROOT / "target/release/imp"))
    ap.add_argument("--hub", default=str(ROOT / "target/release/imp-test-hub"))
    ap.add_argument("--keep", help="work in this directory and keep it")
    a = ap.parse_args()
    repo = catalogue_repo(a.entry)
    work = Path(a.keep or tempfile.mkdtemp(prefix="imp-hub-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    store, home = work / "store", work / "hf-home"

    print(f"serving {a.checkpoint} as {repo} ...", flush=True)
    hub = subprocess.Popen([a.hub, f"{repo}={a.checkpoint}"], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
    endpoint = hub.stdout.readline().strip()
    env = dict(os.environ, HF_ENDPOINT=endpoint, HF_HOME=str(home))
    env.pop("HF_HUB_OFFLINE", None)

    started = time.monotonic()
    imp = subprocess.Popen([a.imp, "models", "download", a.entry, "--store", str(store)],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = {"rss": 0, "anon": 0, "disk": 0}
    converting_at = [None]
    partial = store / "downloads" / f"{a.entry}.gguf.partial"

    def sample():
        while imp.poll() is None:
            peak["rss"] = max(peak["rss"], status_kb(imp.pid, "VmRSS"))
            peak["anon"] = max(peak["anon"], status_kb(imp.pid, "RssAnon"))
            peak["disk"] = max(peak["disk"], disk_bytes(store, home))
            if converting_at[0] is None and partial.exists():
                converting_at[0] = time.monotonic()
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    out, err = imp.communicate()
    ended = time.monotonic()
    sampler.join()
    hub.stdin.close()
    hub.wait()
    if imp.returncode != 0:
        sys.exit(f"imp failed: {err.strip()}")
    served = disk_bytes(a.checkpoint)
    download = (converting_at[0] or ended) - started
    print(out.strip())
    print(f"checkpoint served: {served / 1e9:.2f} GB")
    print(f"download (verified): {download:.1f} s")
    print(f"conversion + verify + install: {ended - (converting_at[0] or ended):.1f} s")
    print(f"total: {ended - started:.1f} s")
    print(f"peak RSS: {peak['rss'] / 1e6:.2f} GB (mapped checkpoint pages included)")
    print(f"peak anonymous: {peak['anon'] / 1e3:.0f} MB")
    print(f"peak disk (store + hub cache): {peak['disk'] / 1e9:.2f} GB")
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
