#!/usr/bin/env bash
# Runs every check and test suite of the project on a fresh machine, installing
# what it needs first. This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

stage_start=$SECONDS
stage() {
  echo "== $1 (previous stage took $((SECONDS - stage_start)) s)"
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
fi
cargo --version

stage "format"
cargo fmt --all -- --check

stage "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

stage "rust tests"
cargo test --workspace --locked

stage "swift tests (Linux, in a trixie chroot)"
bash tests/swift.sh

stage "kotlin (JVM) tests"
bash tests/kotlin.sh

stage "done"
