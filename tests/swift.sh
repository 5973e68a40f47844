#!/usr/bin/env bash
# Builds the host library, generates the Swift bindings into ios-app/ImpKit and
# runs `swift test` in each Swift package given (default ios-app/ImpKit; the
# iOS app's logic package depends on it), inside a Debian trixie chroot that
# has Swift 6; then a package's Tests/AppleStandIns/typecheck.sh, if it has
# one, with its build in place.
#   tests/swift.sh [PACKAGE_DIR...]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(bash tests/toolchains/swift.sh)
PACKAGES=("$@")
[ ${#PACKAGES[@]} -gt 0 ] || PACKAGES=(ios-app/ImpKit)

# The same build as the Rust test stage (same feature resolution): no rebuild.
cargo build --workspace --all-targets --locked
LIB=target/debug/libimp_ffi.so
GEN=$(mktemp -d)
target/debug/uniffi-bindgen generate --library "$LIB" --language swift \
  --no-format --out-dir "$GEN"
# Copied only when changed: a new timestamp alone would make SwiftPM compile
# ImpKit again in each package that uses it (the iOS stage runs this script
# a second time).
cmp -s "$GEN/ImpFFI.swift" ios-app/ImpKit/Sources/ImpFFI/ImpFFI.swift ||
  cp "$GEN/ImpFFI.swift" ios-app/ImpKit/Sources/ImpFFI/ImpFFI.swift
cmp -s "$GEN/ImpFFIFFI.h" ios-app/ImpKit/Sources/ImpFFIFFI/ImpFFIFFI.h ||
  cp "$GEN/ImpFFIFFI.h" ios-app/ImpKit/Sources/ImpFFIFFI/ImpFFIFFI.h
rm -rf "$GEN"

# A small converted model for the store tests, served over loopback HTTP from
# outside the chroot (it shares the network).
SERVE=$(mktemp -d)
target/debug/imp convert --model tests/fixtures/tiny-imp-wide --out "$SERVE/tiny.gguf" --quant q8_0 2>/dev/null
SHA=$(sha256sum "$SERVE/tiny.gguf" | cut -d' ' -f1)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$SERVE" >/dev/null 2>&1 &
SERVER=$!
# And a loopback hub serving the sharded 384-px fixture as the catalogue's
# imp-3b repository, for the install-from-hub tests; it ends with this script.
coproc HUB {
  exec target/debug/imp-test-hub "MILVLG/Imp-v1.5-3B-Phi2=$PWD/tests/fixtures/tiny-imp-384" \
    "someone/Imp-tiny=$PWD/tests/fixtures/tiny-imp-384"
}
read -r HUB_ENDPOINT <&"${HUB[0]}"

# The checkout appears inside the chroot for the duration of the tests, at a
# path of its own (checkouts of one machine share the chroot and may test at
# the same time), the same each run so SwiftPM's build cache stays valid.
MNT=/imp-$(printf %s "$PWD" | sha256sum | cut -c1-8)
mkdir -p "$ROOT$MNT" "$ROOT$MNT-serve"
mountpoint -q "$ROOT$MNT-serve" || mount --bind "$SERVE" "$ROOT$MNT-serve"
mountpoint -q "$ROOT$MNT" || mount --bind "$PWD" "$ROOT$MNT"
trap 'umount "$ROOT$MNT" "$ROOT$MNT-serve" 2>/dev/null || true; kill $SERVER 2>/dev/null || true; rm -rf "$SERVE"' EXIT
for PKG in "${PACKAGES[@]}"; do
  echo "== swift test: $PKG"
  chroot "$ROOT" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root \
    LD_LIBRARY_PATH="$MNT/target/debug" IMP_FIXTURES="$MNT/tests/fixtures" \
    IMP_GGUF="$MNT-serve/tiny.gguf" IMP_GGUF_URL="http://127.0.0.1:$PORT/tiny.gguf" IMP_GGUF_SHA256="$SHA" \
    IMP_HUB="$HUB_ENDPOINT" \
    bash -c "cd $MNT/$PKG && swift test --disable-swift-testing -Xlinker -L$MNT/target/debug \
      && if [ -f Tests/AppleStandIns/typecheck.sh ]; then bash Tests/AppleStandIns/typecheck.sh; fi"
done
