#!/usr/bin/env bash
# Cross-compiles the core's tests for aarch64 Linux and runs them under
# qemu-aarch64, so our int8 kernels (NEON, sdot) and candle's ARM paths are
# checked against the same goldens as x86.
#
#   tests/aarch64.sh                 every imp-core test target
#   tests/aarch64.sh --lib --test golden ...   a subset (cargo's target flags)
#   tests/aarch64.sh --test kernels NAME -- --nocapture   after --: the test binary's
#
# CI runs the subset that executes ARM code paths (run-all.sh); the rest adds
# no ARM coverage for its time under qemu (imp-tools's tests/gguf.rs, not run here, takes about
# 8 min there: it converts and runs float models through candle's f32 gemm).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64-static >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-aarch64-linux-gnu qemu-user-static
fi
rustup target add aarch64-unknown-linux-gnu >/dev/null
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64-static -L /usr/aarch64-linux-gnu"
# Tests that start themselves again as a child (hostile_inputs.rs) do it
# through the same emulator.
export IMP_TEST_RUNNER=$CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER
# qemu emulates a CPU with NEON and dotprod by default (-cpu max).
# Cargo's arguments, then (after --) the test binary's: --target goes between.
targets=() test_args=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do targets+=("$1"); shift; done
[ $# -gt 0 ] && shift && test_args=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(--all-targets)
env -u RUSTC_WORKSPACE_WRAPPER cargo test --locked -p imp-core "${targets[@]}" \
  --target aarch64-unknown-linux-gnu -- "${test_args[@]}"
