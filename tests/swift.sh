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

# A small converted model for the store tests, served over loopback HTTP from
# outside the chroot (it shares the network).
SERVE=$(mktemp -d)
target/debug/imp convert --model tests/fixtures/tiny-imp-wide --out "$SERVE/tiny.gguf" --quant q8_0 2>/dev/null
SHA=$(sha256sum "$SERVE/tiny.gguf" | cut -d' ' -f1)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$SERVE" >/dev/null 2>&1 &
SERVER=$!
mkdir -p "$ROOT/imp-serve"
mountpoint -q "$ROOT/imp-serve" || mount --bind "$SERVE" "$ROOT/imp-serve"

# The checkout appears inside the chroot at /imp for the duration of the tests.
mkdir -p "$ROOT/imp"
mountpoint -q "$ROOT/imp" || mount --bind "$PWD" "$ROOT/imp"
trap 'umount "$ROOT/imp" "$ROOT/imp-serve" 2>/dev/null || true; kill $SERVER 2>/dev/null || true; rm -rf "$SERVE"' EXIT
chroot "$ROOT" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root \
  LD_LIBRARY_PATH=/imp/target/debug IMP_FIXTURES=/imp/tests/fixtures \
  IMP_GGUF=/imp-serve/tiny.gguf IMP_GGUF_URL="http://127.0.0.1:$PORT/tiny.gguf" IMP_GGUF_SHA256="$SHA" \
  bash -c "cd /imp/$PKG && swift test --disable-swift-testing -Xlinker -L/imp/target/debug"
