#!/usr/bin/env bash
# Installs Swift 6 for Linux in a Debian trixie chroot (Debian 12 has no Swift;
# trixie's swiftlang needs trixie's libc). Idempotent; prints the chroot path.
# Usage: swift.sh [ROOT]   (default /opt/imp-swift-root)
set -euo pipefail
ROOT=${1:-/opt/imp-swift-root}
if [ -x "$ROOT/usr/bin/swift" ]; then
  mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
  echo "$ROOT"; exit 0
fi
export DEBIAN_FRONTEND=noninteractive
command -v debootstrap >/dev/null || { apt-get update -qq >&2; apt-get install -y -qq debootstrap >&2; }
if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
  rm -rf "$ROOT"
  debootstrap --variant=minbase trixie "$ROOT" http://deb.debian.org/debian >&2
fi
echo "deb http://deb.debian.org/debian trixie main" > "$ROOT/etc/apt/sources.list"
mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
chroot "$ROOT" apt-get update -qq >&2
chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  swiftlang libc6-dev libstdc++-14-dev >&2
echo "$ROOT"
