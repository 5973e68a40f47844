#!/usr/bin/env bash
# Cross-compiles the core's tests for aarch64 Linux and runs them under
# qemu-aarch64, so candle's ARM kernels (NEON, dotprod) are checked against the
# same goldens as x86.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64-static >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-aarch64-linux-gnu qemu-user-static
fi
rustup target add aarch64-unknown-linux-gnu >/dev/null
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64-static -L /usr/aarch64-linux-gnu"
# qemu emulates a CPU with NEON and dotprod by default (-cpu max).
env -u RUSTC_WORKSPACE_WRAPPER cargo test --locked -p imp-core --all-targets --target aarch64-unknown-linux-gnu
