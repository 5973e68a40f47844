#!/usr/bin/env bash
# Links the mobile API (imp-ffi) as libimp_ffi.so for Android without an NDK,
# for every ABI the APK carries, and checks each library with readelf:
#   - LLVM's libunwind (the sources in PyPI's ziglang) built with `zig cc`;
#   - bionic stub libraries at the app's minSdk (bionic/stubs.py);
#   - rust-lld, 16 KiB pages, the release profile;
#   - ring's C (under rustls) by uniffi/c-without-sdk.sh.
# Writes android-app/build/jniLibs/<abi>/libimp_ffi.so, plus JNA's
# libjnidispatch.so from the JNA aar (path in $JNA_JNI, set by build-apk.sh).
# Usage: native.sh CACHE_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
CACHE=${1:?usage: native.sh CACHE_DIR}
HERE=android-app/build-logic
API=$(python3 $HERE/catalog.py version minSdk)
ZIG_VERSION=$(python3 $HERE/catalog.py version ziglang)
ZIG=$CACHE/ziglang-$ZIG_VERSION/ziglang/zig
export ZIG_GLOBAL_CACHE_DIR=$CACHE/zig-cache ZIG_LOCAL_CACHE_DIR=$CACHE/zig-cache
OUT=android-app/build/jniLibs
PAGE=16384

# ABI, Rust target, zig target for the unwinder, stub architecture. Phones
# are arm64-v8a; x86_64 serves emulators and ChromeOS. IMP_ANDROID_ABIS picks
# a subset (CI builds arm64-v8a only: each ABI is a release build of the
# whole core, about ten minutes on two cores).
read -r -a ABIS <<<"${IMP_ANDROID_ABIS:-arm64-v8a x86_64}"
declare -A RUST_TARGET=([arm64-v8a]=aarch64-linux-android [x86_64]=x86_64-linux-android)
declare -A ZIG_TARGET=([arm64-v8a]=aarch64-linux-musl [x86_64]=x86_64-linux-musl)
declare -A STUB_ARCH=([arm64-v8a]=arm64 [x86_64]=x86_64)
declare -A ELF_MACHINE=([arm64-v8a]=AArch64 [x86_64]="Advanced Micro Devices X86-64")

fail() { echo "native: FAILED: $*" >&2; exit 1; }

# The unwinder Rust's std for Android calls (_Unwind_*), hidden inside our .so.
# Built against musl's headers (no bionic headers here); what it calls is all
# in bionic (checked below through the stubs and -z defs). errno is __errno there.
build_libunwind() {
  local abi=$1 dir=$CACHE/libunwind-$ZIG_VERSION/$abi
  [ -f "$dir/libunwind.a" ] && return
  echo "native: building LLVM libunwind for $abi with zig cc"
  local src=$CACHE/ziglang-$ZIG_VERSION/ziglang/lib/libunwind
  local flags=(-target "${ZIG_TARGET[$abi]}" -O2 -fPIC -funwind-tables -fvisibility=hidden
    -D_LIBUNWIND_IS_NATIVE_ONLY -D_LIBUNWIND_HIDE_SYMBOLS -DNDEBUG -D__errno_location=__errno
    -I "$src/include")
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  "$ZIG" c++ "${flags[@]}" -std=c++17 -fno-exceptions -fno-rtti -nostdinc++ \
    -c "$src/src/libunwind.cpp" -o "$dir.tmp/libunwind.o"
  for f in UnwindLevel1.c UnwindLevel1-gcc-ext.c; do
    "$ZIG" cc "${flags[@]}" -std=c99 -c "$src/src/$f" -o "$dir.tmp/${f%.c}.o"
  done
  for f in UnwindRegistersRestore.S UnwindRegistersSave.S; do
    "$ZIG" cc "${flags[@]}" -c "$src/src/$f" -o "$dir.tmp/${f%.S}.o"
  done
  "$ZIG" ar rcs "$dir.tmp/libunwind.a" "$dir.tmp"/*.o
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
}

# Stubs keyed by the symbol facts they come from.
build_stubs() {
  local abi=$1
  local key
  key=$(cat $HERE/bionic/symbols.tsv $HERE/bionic/stubs.py | sha256sum | cut -c1-12)
  STUBS=$CACHE/bionic-stubs/${STUB_ARCH[$abi]}-api$API-$key
  [ -f "$STUBS/libc.so" ] && return
  rm -rf "$STUBS.tmp"
  python3 $HERE/bionic/stubs.py --arch "${STUB_ARCH[$abi]}" --api "$API" --zig "$ZIG" --out "$STUBS.tmp"
  rm -rf "$STUBS" && mv "$STUBS.tmp" "$STUBS"
}

# shellcheck source=../../uniffi/c-without-sdk.sh
source uniffi/c-without-sdk.sh

link_ffi() {
  local abi=$1 target=${RUST_TARGET[$abi]}
  echo "native: linking libimp_ffi.so for $abi ($target, API $API)"
  command -v rustup >/dev/null && rustup target add "$target" >/dev/null
  # ring's C (under rustls), with the same compiler and flags as `uniffi/build-mobile.sh check`.
  c_without_sdk "$target" "$API"
  # Plain rustc: clippy's driver, when CI set it for the host build, stays there.
  env -u RUSTC_WORKSPACE_WRAPPER nice cargo rustc --locked --release -p imp-ffi --lib --target "$target" --crate-type cdylib -- \
    -C linker=rust-lld -C linker-flavor=ld.lld \
    -L "native=$STUBS" -L "native=$CACHE/libunwind-$ZIG_VERSION/$abi" \
    -C link-arg=-soname=libimp_ffi.so -C link-arg=-zdefs -C link-arg=-zmax-page-size=$PAGE \
    -C link-arg=--no-rosegment -C link-arg=--build-id=sha1
  mkdir -p "$OUT/$abi"
  local sysroot
  sysroot=$(rustc --print sysroot)
  LD_LIBRARY_PATH=$sysroot/lib "$sysroot/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-objcopy" \
    --strip-debug "${CARGO_TARGET_DIR:-target}/$target/release/libimp_ffi.so" "$OUT/$abi/libimp_ffi.so"
}

# What a phone's loader needs: only bionic, 16 KiB LOAD alignment (Android 15+
# devices with 16 KiB pages), no text relocations, no undefined symbol that
# bionic does not export at the API level; and our SONAME (JNA's library has
# none: the loader then goes by the file name).
check_elf() {
  local abi=$1 so=$2 stubs=$3 soname=$4
  local name
  name=$(basename "$so")
  local dynamic needed
  dynamic=$(readelf -dW "$so")
  grep -q "Machine: *${ELF_MACHINE[$abi]}" <<<"$(readelf -h "$so")" || fail "$so is not for ${ELF_MACHINE[$abi]}"
  needed=$(sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' <<<"$dynamic" | sort | tr '\n' ' ')
  for lib in $needed; do
    case $lib in libc.so | libm.so | libdl.so | liblog.so) ;; *) fail "$so needs $lib (only bionic's libc, libm, libdl, liblog are allowed)" ;; esac
  done
  [ "$soname" = no-soname ] || grep -q "(SONAME).*\[$name\]" <<<"$dynamic" || fail "$so has no SONAME $name"
  ! grep -qE "\(TEXTREL\)|TEXTREL" <<<"$dynamic" || fail "$so has text relocations"
  local aligns bad
  aligns=$(readelf -lW "$so" | awk '$1 == "LOAD" {print $NF}')
  bad=$(for a in $aligns; do [ $((a)) -ge $PAGE ] || echo "$a"; done)
  [ -z "$bad" ] || fail "$so has LOAD segments aligned to $bad, not $PAGE"
  # Every undefined symbol must be exported by a stub (weak ones may be absent).
  local exported undefined missing
  exported=$(for s in "$stubs"/*.so; do readelf --dyn-syms -W "$s" | awk '$7 != "UND" && NR > 3 {sub(/@.*/, "", $8); print $8}'; done | sort -u)
  undefined=$(readelf --dyn-syms -W "$so" | awk '$7 == "UND" && $5 != "WEAK" && $8 != "" {sub(/@.*/, "", $8); print $8}' | sort -u)
  missing=$(comm -13 <(echo "$exported") <(echo "$undefined"))
  [ -z "$missing" ] || fail "$so uses symbols bionic does not export at API $API: $missing"
  echo "native: $abi/$name ok: NEEDED $needed| LOAD align $(echo "$aligns" | sort -u | tr '\n' ' ')| $(echo "$undefined" | wc -l) undefined, all in bionic API $API"
}

for abi in "${ABIS[@]}"; do
  [ -n "${RUST_TARGET[$abi]:-}" ] || fail "unknown ABI $abi (IMP_ANDROID_ABIS: arm64-v8a, x86_64)"
  build_libunwind "$abi"
  build_stubs "$abi"
  link_ffi "$abi"
  check_elf "$abi" "$OUT/$abi/libimp_ffi.so" "$STUBS" soname
  if [ -n "${JNA_JNI:-}" ]; then
    cp "$JNA_JNI/$abi/libjnidispatch.so" "$OUT/$abi/"
    check_elf "$abi" "$OUT/$abi/libjnidispatch.so" "$STUBS" no-soname
  fi
done
