#!/usr/bin/env bash
# Runs every fuzz target of rust-core/fuzz (libFuzzer) for a bounded time,
# starting from the committed seed corpora (copied, so the checkout stays
# clean).
#
#   bash tests/fuzz.sh [SECONDS_PER_TARGET]     (default 30)
#
# The targets are built on the stable toolchain in the test build's profile,
# with only our crates instrumented for coverage (rust-core/fuzz/instrumented-rustc.sh),
# so after the Rust stage just imp-core and the targets compile again.
# A crash, panic, timeout (20 s for one input) or an input that takes the
# process past RSS_LIMIT_MB fails the script; the input is kept under
# rust-core/fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-30}
# The bound this project promises: no input makes one process hold more.
RSS_LIMIT_MB=2048
TARGETS=(config gguf image llama_cpp_pair safetensors tokenizer)

RUSTC_WORKSPACE_WRAPPER=$PWD/rust-core/fuzz/instrumented-rustc.sh \
  cargo build --locked -p imp-core-fuzz --bins --features fuzz-targets
BIN=${CARGO_TARGET_DIR:-target}/debug
CORPUS=$(mktemp -d)
trap 'rm -rf "$CORPUS"' EXIT
for target in "${TARGETS[@]}"; do
  mkdir -p "$CORPUS/$target" "rust-core/fuzz/artifacts/$target"
  cp -r "rust-core/fuzz/seeds/$target/." "$CORPUS/$target/"
  echo "== fuzz $target for ${SECONDS_PER_TARGET} s"
  status=0
  "$BIN/$target" "$CORPUS/$target" -max_total_time="$SECONDS_PER_TARGET" \
    -rss_limit_mb="$RSS_LIMIT_MB" -timeout=20 -print_final_stats=1 \
    -artifact_prefix="rust-core/fuzz/artifacts/$target/" >"$CORPUS/$target.log" 2>&1 || status=$?
  # The summary lines only; the end of the log when the target failed.
  grep -E "^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::(number_of_executed_units|peak_rss_mb)" "$CORPUS/$target.log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$CORPUS/$target.log"
    echo "fuzz target $target failed (exit $status)" >&2
    exit 1
  fi
done
echo "fuzzing passed"
