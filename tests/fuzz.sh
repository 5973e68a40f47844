#!/usr/bin/env bash
# Runs every fuzz target of rust-core/fuzz for a bounded time, starting from
# the committed seed corpora (copied, so the checkout stays clean). Installs
# the nightly toolchain and cargo-fuzz when missing.
#
#   bash tests/fuzz.sh [SECONDS_PER_TARGET]     (default 30)
#
# A crash, panic, timeout or an input whose run goes past the memory bound
# fails the script, leaving the input under rust-core/fuzz/artifacts/.
# Built without a sanitizer (IMP_FUZZ_SANITIZER=address to add one): the
# targets drive safe Rust over crates whose unsafe code is their own, and
# AddressSanitizer would double the build and slow every execution, where CI
# time is better spent executing inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-30}
# The bound this project promises: no input makes one process hold more.
RSS_LIMIT_MB=2048

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  rustup toolchain install nightly --profile minimal
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

cd rust-core/fuzz
SANITIZER=${IMP_FUZZ_SANITIZER:-none}
cargo +nightly fuzz build --sanitizer "$SANITIZER"
CORPUS=$(mktemp -d)
trap 'rm -rf "$CORPUS"' EXIT
for target in $(cargo +nightly fuzz list); do
  mkdir -p "$CORPUS/$target"
  cp -r "seeds/$target/." "$CORPUS/$target/"
  echo "== fuzz $target for ${SECONDS_PER_TARGET} s"
  status=0
  cargo +nightly fuzz run --sanitizer "$SANITIZER" "$target" "$CORPUS/$target" -- \
    -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb="$RSS_LIMIT_MB" \
    -timeout=20 -print_final_stats=1 >"$CORPUS/$target.log" 2>&1 || status=$?
  # The summary lines only; the whole log when the target failed.
  grep -E "^#[0-9]+ +(INITED|DONE)|^stat::(number_of_executed_units|peak_rss_mb)" "$CORPUS/$target.log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$CORPUS/$target.log"
    echo "fuzz target $target failed (exit $status)" >&2
    exit 1
  fi
done
echo "fuzzing passed"
