#!/usr/bin/env bash
# Runs every check and test suite of the project on a fresh machine, installing
# what it needs first. This is the README's test command and what CI runs;
# docs/testing.md says what each stage does.
set -euo pipefail
cd "$(dirname "$0")/.."
LOG=$(mktemp)
exec > >(tee "$LOG") 2>&1

stage_start=$SECONDS
stage_name=""
stage() {
  [ -n "$stage_name" ] && echo "== $stage_name took $((SECONDS - stage_start)) s ($(df -h --output=avail . | tail -1 | tr -d ' ') free on disk)"
  echo "== $1"
  stage_name=$1
  stage_start=$SECONDS
}

stage "toolchain"
if ! command -v cargo >/dev/null 2>&1; then
  [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
fi
command -v cargo >/dev/null 2>&1 || { echo "cargo not found: install Rust with rustup" >&2; exit 1; }
command -v java >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq openjdk-17-jdk-headless; }
command -v mvn >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq maven; }
command -v npm >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq npm; }
if command -v rustup >/dev/null 2>&1; then
  rustup component add rustfmt clippy >/dev/null
  rustup target add aarch64-unknown-linux-gnu aarch64-linux-android aarch64-apple-ios >/dev/null
fi
cargo --version

# CI machines have little disk: with IMP_FREE_DISK=1 (.ci/run sets it) each
# build output is deleted once no later stage needs it.
free_disk() {
  [ "${IMP_FREE_DISK:-0}" = 1 ] || return 0
  echo "== freeing disk: $*"
  rm -rf "$@"
}

stage "format"
cargo fmt --all -- --check

# Downloads that need little CPU run behind the Rust build: the Swift chroot,
# then the Android toolchain (kotlinc, android.jar, D8, Robolectric's jars).
# Each stage runs its own setup again, a no-op when this finished it.
PREFETCH_LOG=$(mktemp)
(bash tests/toolchains/swift.sh >/dev/null && bash android-app/build-logic/toolchain.sh) >"$PREFETCH_LOG" 2>&1 &
PREFETCH=$!

stage "rust: build with clippy's lints, then the tests"
# clippy's driver compiles the workspace's crates (lints denied, as
# `cargo clippy -- -D warnings` would) in the very build the tests use: one
# build of the dependencies instead of a clippy check and a build. The later
# host builds (Swift, Kotlin, Android stages) keep it, so they are no-ops;
# cross builds unset it. CLIPPY_ARGS is how cargo-clippy hands the driver
# its arguments.
RUSTC_WORKSPACE_WRAPPER=$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver)
export RUSTC_WORKSPACE_WRAPPER
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
cargo build --workspace --all-targets --locked
cargo test --workspace --all-targets --locked
# Which kernel paths those suites ran (AVX-512 only where the CPU has it);
# --workspace, so the features are the build's above and nothing recompiles.
cargo test --locked --workspace --test kernels every_path_is_found -- --nocapture 2>&1 | grep "kernel paths here"

if ! wait "$PREFETCH"; then
  echo "== the background toolchain setup failed (each stage retries its own):"
  tail -n 30 "$PREFETCH_LOG"
fi

stage "swift tests (Linux, in a trixie chroot)"
bash tests/swift.sh

stage "iOS app (parse check of every app source, logic tests in the chroot)"
bash tests/ios.sh

stage "kotlin (JVM) tests"
bash tests/kotlin.sh

stage "android app (APK without Gradle, Robolectric tests)"
# The phones' ABI only: the x86_64 (emulator) library is one more release
# build of the whole core for no extra coverage (same code as the host's).
IMP_ANDROID_ABIS=arm64-v8a bash tests/android.sh
free_disk target/aarch64-linux-android

stage "fuzzing, 30 s a target, then 10 s each under AddressSanitizer"
# On the host build's dependencies: only our crates compile again.
bash tests/fuzz.sh 30
free_disk target/debug
free_disk target/asan

stage "aarch64 tests under qemu, and imp bench for phones"
# The tests that run ARM code: our kernels and candle's NEON paths against
# the goldens, the resize, the quantized matmuls (all of them: tests/aarch64.sh).
bash tests/aarch64.sh --lib --test golden --test kernels --test resize
# Which kernel paths ran under qemu (NEON; with sdot; with sdot and i8mm).
bash tests/aarch64.sh --test kernels every_path_is_found -- --nocapture 2>&1 | grep "kernel paths here"
free_disk target/aarch64-unknown-linux-gnu
# `imp` as the static aarch64 binary a phone runs from adb shell (imp bench),
# checked static and run under qemu on a fixture model.
bash rust-core/cli/phone-bench.sh --check
free_disk target/aarch64-unknown-linux-musl

stage "iOS compile check"
# Android's library was built and linked for real in the android stage.
bash uniffi/build-mobile.sh check ios

stage "done"
# One closing line over every runner: cargo's harnesses, XCTest, JUnit.
rust=$(grep -oE "test result: ok\. [0-9]+ passed" "$LOG" | awk '{s += $4} END {print s + 0}')
swift=$(grep -A1 "Test Suite 'All tests' passed" "$LOG" | grep -oE "Executed [0-9]+ tests" | awk '{s += $2} END {print s + 0}')
junit() { grep -oE "\[ +[0-9]+ tests successful" | awk '{s += $2} END {print s + 0}'; }
android=$(sed -n '/^== android app/,/^== /p' "$LOG" | junit)
kotlin=$(($(junit <"$LOG") - android))
echo "rust $rust, swift $swift, kotlin $kotlin, android $android"
echo "all suites: $((rust + swift + kotlin + android)) passed, 0 failed"
