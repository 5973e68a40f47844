#!/usr/bin/env bash
# Runs every fuzz target of rust-core/fuzz (libFuzzer) for a bounded time,
# starting from the committed seed corpora (copied, so the checkout stays
# clean).
#
#   bash tests/fuzz.sh [SECONDS_PER_TARGET [ASAN_SECONDS_PER_TARGET]]
#                                               (defaults 30 and 10; 0 skips)
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
ASAN_SECONDS_PER_TARGET=${2:-10}
# The bound this project promises: no input makes one process hold more.
RSS_LIMIT_MB=2048
TARGETS=(config gguf image llama_cpp_pair safetensors tokenizer chat_template sentences sampling catalog model_address hub_listing history manifest)

# fuzz BINARY_DIR TARGET SECONDS WHAT: one target from its corpus; the summary
# lines, or the end of the log when it failed (the input kept as an artifact).
fuzz() {
  local dir=$1 target=$2 seconds=$3 what=$4 status=0
  echo "== fuzz $target for $seconds s$what"
  "$dir/$target" "$CORPUS/$target" -max_total_time="$seconds" \
    -rss_limit_mb="$RSS_LIMIT_MB" -timeout=20 -print_final_stats=1 \
    -artifact_prefix="rust-core/fuzz/artifacts/$target/" >"$CORPUS/$target.log" 2>&1 || status=$?
  grep -E "^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::(number_of_executed_units|peak_rss_mb)" "$CORPUS/$target.log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$CORPUS/$target.log"
    echo "fuzz target $target failed$what (exit $status)" >&2
    exit 1
  fi
}

RUSTC_WORKSPACE_WRAPPER=$PWD/rust-core/fuzz/instrumented-rustc.sh \
  cargo build --locked -p imp-core-fuzz --bins --features fuzz-targets
CORPUS=$(mktemp -d)
trap 'rm -rf "$CORPUS"' EXIT
for target in "${TARGETS[@]}"; do
  mkdir -p "$CORPUS/$target" "rust-core/fuzz/artifacts/$target"
  cp -r "rust-core/fuzz/seeds/$target/." "$CORPUS/$target/"
  fuzz "${CARGO_TARGET_DIR:-target}/debug" "$target" "$SECONDS_PER_TARGET" ""
done

# The same targets under AddressSanitizer, from the corpora the runs above
# grew, for memory errors the coverage build cannot see (in unsafe code,
# ours and our dependencies'): nightly's -Zsanitizer=address over every crate
# of the build (std excepted, so sanitized and unsanitized code meet there,
# which rustc has to be told), in a target directory of its own; --target
# keeps build scripts and proc-macros out of it. Dependencies at opt-level 1
# instead of the workspace's 3: the build took 7m17s here where it took 8m54s on
# 2 cores in a clean run, and the targets still ran 46-95 inputs a second from their seeds
# (enough for 10 s a target).
if [ "$ASAN_SECONDS_PER_TARGET" -gt 0 ]; then
  rustup toolchain install nightly --profile minimal >/dev/null 2>&1 || rustup toolchain install nightly --profile minimal
  HOST=$(rustc -vV | sed -n 's/^host: //p')
  ASAN_DIR=${CARGO_TARGET_DIR:-target}/asan
  env -u RUSTC_WORKSPACE_WRAPPER CARGO_TARGET_DIR="$ASAN_DIR" \
    RUSTFLAGS="-Zsanitizer=address -Cunsafe-allow-abi-mismatch=sanitizer --cfg fuzzing -Cpasses=sancov-module \
-Cllvm-args=-sanitizer-coverage-level=4 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table -Cllvm-args=-sanitizer-coverage-trace-compares" \
    cargo +nightly build --locked -p imp-core-fuzz --bins --features fuzz-targets --target "$HOST" \
    --config 'profile.dev.package."*".opt-level=1'
  for target in "${TARGETS[@]}"; do
    fuzz "$ASAN_DIR/$HOST/debug" "$target" "$ASAN_SECONDS_PER_TARGET" " under AddressSanitizer"
  done
fi
echo "fuzzing passed"
