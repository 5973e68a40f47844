#!/usr/bin/env bash
# `imp` for an Android phone's shell: one static aarch64 binary (musl libc
# linked in, no dynamic loader asked for), which runs from `adb shell` on
# Android's Linux kernel, so a person with a phone and a computer can measure
# the same fields the apps' benchmark screens show (docs/benchmarks.md, "On a
# phone"). Built as the apps' core is: Rust's own musl target, ring's C
# through zig cc (from the Android toolchain, android-app/build-logic), the
# link by rust-lld against Rust's bundled musl.
#
#   bash rust-core/cli/phone-bench.sh          # -> target/aarch64-unknown-linux-musl/release/imp
#   bash rust-core/cli/phone-bench.sh --check  # and run it under qemu on a fixture model
#
# The README's test command builds and checks it (tests/run-all.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
TRIPLE=aarch64-unknown-linux-musl
bash android-app/build-logic/toolchain.sh >/dev/null
# shellcheck source=/dev/null
source android-app/build-logic/env.sh
rustup target add $TRIPLE >/dev/null

# zig cc compiles ring's C and assembly for musl. Cargo's cc crate wants one
# program and passes clang's spelling of the target, which zig does not
# parse: a wrapper drops it and names zig's.
WRAP=$(mktemp -d)
trap 'rm -rf "$WRAP"' EXIT
cat >"$WRAP/cc" <<WRAPPER
#!/bin/sh
n=\$#
while [ \$n -gt 0 ]; do
  a=\$1; shift; n=\$((n - 1))
  case \$a in --target=*) ;; *) set -- "\$@" "\$a" ;; esac
done
exec "$ZIG" cc -target aarch64-linux-musl "\$@"
WRAPPER
printf '#!/bin/sh\nexec "%s" ar "$@"\n' "$ZIG" >"$WRAP/ar"
chmod +x "$WRAP/cc" "$WRAP/ar"

export CC_aarch64_unknown_linux_musl=$WRAP/cc
export AR_aarch64_unknown_linux_musl=$WRAP/ar
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=rust-lld
# Without debug info: the file is pushed to the phone (about 100 MB with it).
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="-C linker-flavor=ld.lld -C link-self-contained=yes -C target-feature=+crt-static -C strip=debuginfo"
env -u RUSTC_WORKSPACE_WRAPPER cargo build --locked --release -p imp-cli --bin imp --target $TRIPLE
BIN=$TARGET/$TRIPLE/release/imp

# Static, for aarch64: no program interpreter, no shared libraries.
readelf -h "$BIN" | grep -q 'Machine: *AArch64' || { echo "phone-bench: $BIN is not aarch64" >&2; exit 1; }
if readelf -l "$BIN" | grep -q INTERP || readelf -d "$BIN" 2>/dev/null | grep -q NEEDED; then
  echo "phone-bench: $BIN is not static" >&2
  exit 1
fi
echo "phone-bench: $BIN ($(du -h "$BIN" | cut -f1), static aarch64)"

if [ "${1:-}" = --check ]; then
  command -v qemu-aarch64-static >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static; }
  # No -L: a static binary needs no sysroot. The tiny fixture converted to
  # q4_k and benchmarked: the converter and the int8 kernels (qemu has i8mm,
  # so the smmla path) run in the very file a phone would.
  qemu-aarch64-static "$BIN" convert --model tests/fixtures/tiny-imp-wide --quant q4_k \
    --out "$WRAP/tiny.gguf" >/dev/null
  qemu-aarch64-static "$BIN" bench --model "$WRAP/tiny.gguf" --repeat 1 \
    --prompt-tokens 16 --gen-tokens 8 --question-tokens 4 --format json >"$WRAP/bench.json"
  python3 - "$WRAP/bench.json" <<'EOF'
import json, sys
record = json.load(open(sys.argv[1]))
assert record["weights_dtype"] == "q4_k", record["weights_dtype"]
assert record["prompt_tokens"] == 16 and record["gen_tokens"] == 8, record
# qemu's -cpu max has i8mm: the static binary must find it at run time.
assert record["kernels"] == "neoni8mm", record["kernels"]
print("phone-bench: imp bench ran under qemu on a q4_k model with the neoni8mm kernels "
      f"({record['prompt_tokens']} prompt and {record['gen_tokens']} generated tokens; "
      "qemu's times say nothing about a phone's)")
EOF
fi
