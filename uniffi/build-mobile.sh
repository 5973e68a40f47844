#!/usr/bin/env bash
# Builds the mobile API (imp-ffi) for the phones. One list of targets and one
# set of flags serve the developer builds and CI's compile check, so they
# cannot drift apart.
#
#   uniffi/build-mobile.sh android   # needs the Android NDK and cargo-ndk:
#                                    # android-app/imp-kotlin/jniLibs/<abi>/libimp_ffi.so
#   uniffi/build-mobile.sh ios       # needs Xcode: ios-app/ImpFFI.xcframework
#                                    # (device + simulator static libraries)
#   uniffi/build-mobile.sh check [android|ios]...
#                                    # no NDK or Xcode: type-checks imp-ffi and
#                                    # builds its C (ring) for the primary
#                                    # device targets (nothing links); CI checks
#                                    # iOS this way, while Android is built and
#                                    # linked for real by tests/android.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Android ABIs and the Rust targets behind them; the first is the primary device target.
ANDROID_ABIS=(arm64-v8a armeabi-v7a x86_64)
ANDROID_TARGETS=(aarch64-linux-android armv7-linux-androideabi x86_64-linux-android)
# The app's minSdk (android-app/gradle/libs.versions.toml), which the Gradle-free
# APK build (android-app/build-logic/native.sh) links its bionic stubs for as well.
ANDROID_API=$(python3 android-app/build-logic/catalog.py version minSdk)
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
    # their targets, so a platform-only error fails here. `cargo check` runs
    # build scripts too, so ring's C is compiled for the target as well.
    shift
    platforms=("$@")
    [ ${#platforms[@]} -gt 0 ] || platforms=(android ios)
    export IPHONEOS_DEPLOYMENT_TARGET=$IOS_MIN_VERSION
    for platform in "${platforms[@]}"; do
      case $platform in
        android) target=${ANDROID_TARGETS[0]} min=$ANDROID_API ;;
        ios) target=${IOS_TARGETS[0]} min=$IOS_MIN_VERSION ;;
        *) echo "check: unknown platform $platform" >&2 && exit 2 ;;
      esac
      add_targets "$target"
      c_without_sdk "$target" "$min"
      echo "== compile check: imp-ffi for $target"
      env -u RUSTC_WORKSPACE_WRAPPER cargo check --locked -p imp-ffi --lib --target "$target"
    done
    ;;
  *)
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
