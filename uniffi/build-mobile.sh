#!/usr/bin/env bash
# Builds the mobile API (imp-ffi) for the phones. One list of targets and one
# set of flags serve the developer builds and CI's compile check, so they
# cannot drift apart.
#
#   uniffi/build-mobile.sh android   # needs the Android NDK and cargo-ndk:
#                                    # android-app/imp-kotlin/jniLibs/<abi>/libimp_ffi.so
#   uniffi/build-mobile.sh ios       # needs Xcode: ios-app/ImpFFI.xcframework
#                                    # (device + simulator static libraries)
#   uniffi/build-mobile.sh check     # no NDK or Xcode: compiles the static
#                                    # library for the primary device targets
#                                    # (nothing links), as CI does
set -euo pipefail
cd "$(dirname "$0")/.."

# Android ABIs and the Rust targets behind them; the first is the primary device target.
ANDROID_ABIS=(arm64-v8a armeabi-v7a x86_64)
ANDROID_TARGETS=(aarch64-linux-android armv7-linux-androideabi x86_64-linux-android)
# The app's minSdk (android-app/gradle/libs.versions.toml), which the Gradle-free
# APK build (tests/android/native.sh) links its bionic stubs for as well.
ANDROID_API=$(python3 tests/android/catalog.py version minSdk)
# iOS device first, then the simulators (Apple silicon, Intel).
IOS_TARGETS=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios)
IOS_MIN_VERSION=16.0
# What every mobile build shares: the release profile, the FFI crate only.
CARGO_FLAGS=(--locked --release -p imp-ffi)

add_targets() { command -v rustup >/dev/null && rustup target add "$@" >/dev/null; }
# shellcheck source=c-without-sdk.sh
source uniffi/c-without-sdk.sh

case "${1:-}" in
  android)
    add_targets "${ANDROID_TARGETS[@]}"
    command -v cargo-ndk >/dev/null || cargo install --locked cargo-ndk
    out=android-app/imp-kotlin/jniLibs
    args=()
    for abi in "${ANDROID_ABIS[@]}"; do args+=(-t "$abi"); done
    cargo ndk "${args[@]}" --platform "$ANDROID_API" -o "$out" build "${CARGO_FLAGS[@]}"
    echo "wrote $out"
    ;;
  ios)
    add_targets "${IOS_TARGETS[@]}"
    export IPHONEOS_DEPLOYMENT_TARGET=$IOS_MIN_VERSION
    for target in "${IOS_TARGETS[@]}"; do
      cargo build "${CARGO_FLAGS[@]}" --target "$target"
    done
    headers=$(mktemp -d)
    cargo run -q -p uniffi-bindgen --locked -- generate --library \
      "target/${IOS_TARGETS[0]}/release/libimp_ffi.a" --language swift --no-format --out-dir "$headers"
    cp ios-app/ImpKit/Sources/ImpFFIFFI/module.modulemap "$headers/module.modulemap"
    sim=target/ios-simulator/libimp_ffi.a
    mkdir -p "$(dirname "$sim")"
    lipo -create "target/${IOS_TARGETS[1]}/release/libimp_ffi.a" \
      "target/${IOS_TARGETS[2]}/release/libimp_ffi.a" -output "$sim"
    rm -rf ios-app/ImpFFI.xcframework
    xcodebuild -create-xcframework \
      -library "target/${IOS_TARGETS[0]}/release/libimp_ffi.a" -headers "$headers" \
      -library "$sim" -headers "$headers" \
      -output ios-app/ImpFFI.xcframework
    echo "wrote ios-app/ImpFFI.xcframework"
    ;;
  check)
    # The platform logging code paths (logcat, unified log) compile only for
    # their targets, so a platform-only error fails here.
    add_targets "${ANDROID_TARGETS[0]}" "${IOS_TARGETS[0]}"
    export IPHONEOS_DEPLOYMENT_TARGET=$IOS_MIN_VERSION
    c_without_sdk "${ANDROID_TARGETS[0]}" "$ANDROID_API"
    c_without_sdk "${IOS_TARGETS[0]}" "$IOS_MIN_VERSION"
    for target in "${ANDROID_TARGETS[0]}" "${IOS_TARGETS[0]}"; do
      echo "== compile check: imp-ffi staticlib for $target"
      cargo rustc "${CARGO_FLAGS[@]}" --lib --target "$target" --crate-type staticlib
    done
    ;;
  *)
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
