#!/usr/bin/env bash
# A RUSTC_WORKSPACE_WRAPPER that compiles imp-core, imp-store and the fuzz targets with
# libFuzzer's coverage instrumentation (the flags cargo-fuzz passes, all
# stable), and every other workspace crate as usual. Dependencies are never
# instrumented, so the fuzz build reuses the test build's artifacts: the
# fuzzer is guided by our code's branches, not by those inside candle, image
# or tokenizers (`cargo fuzz run` instruments everything, for longer runs).
# Usage: RUSTC_WORKSPACE_WRAPPER=rust-core/fuzz/instrumented-rustc.sh cargo build -p imp-core-fuzz
rustc=$1
shift
crate=""
prev=""
for arg in "$@"; do
  [ "$prev" = "--crate-name" ] && crate=$arg
  prev=$arg
done
case $crate in
  imp_core | imp_store | imp_core_fuzz | config | gguf | image | llama_cpp_pair | safetensors | tokenizer | \
    chat_template | sampling | catalog | model_address | hub_listing | history | manifest)
    exec "$rustc" "$@" --cfg fuzzing -Cpasses=sancov-module \
      -Cllvm-args=-sanitizer-coverage-level=4 \
      -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
      -Cllvm-args=-sanitizer-coverage-pc-table \
      -Cllvm-args=-sanitizer-coverage-trace-compares
    ;;
  *) exec "$rustc" "$@" ;;
esac
