#!/usr/bin/env bash
# Builds the host library, generates the Swift bindings into ios-app/ImpKit and
# runs `swift test` there, inside a Debian trixie chroot that has Swift 6.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(bash tests/toolchains/swift.sh)
PKG=ios-app/ImpKit

# The same build as the Rust test stage (same feature resolution): no rebuild.
cargo build --workspace --all-targets --locked
LIB=target/debug/libimp_ffi.so
GEN=$(mktemp -d)
target/debug/uniffi-bindgen generate --library "$LIB" --language swift \
  --no-format --out-dir "$GEN"
cp "$GEN/ImpFFI.swift" "$PKG/Sources/ImpFFI/ImpFFI.swift"
cp "$GEN/ImpFFIFFI.h" "$PKG/Sources/ImpFFIFFI/ImpFFIFFI.h"
rm -rf "$GEN"

# The checkout appears inside the chroot at /imp for the duration of the tests.
mkdir -p "$ROOT/imp"
mountpoint -q "$ROOT/imp" || mount --bind "$PWD" "$ROOT/imp"
trap 'umount "$ROOT/imp" 2>/dev/null || true' EXIT
chroot "$ROOT" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root \
  LD_LIBRARY_PATH=/imp/target/debug IMP_FIXTURES=/imp/tests/fixtures \
  bash -c "cd /imp/$PKG && swift test --disable-swift-testing -Xlinker -L/imp/target/debug"
