#!/usr/bin/env bash
# On a Mac with Xcode and XcodeGen (`brew install xcodegen`): builds the Rust
# core for iOS into ios-app/ImpFFI.xcframework, puts its Swift bindings where
# ImpKit expects them (as tests/swift.sh does on Linux), and writes
# Imp.xcodeproj from project.yml (signing: Signing/Signing.xcconfig). docs/ios.md,
# "On a Mac", has the steps before and after.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash uniffi/build-mobile.sh ios
headers=ios-app/ImpFFI.xcframework/ios-arm64/Headers
cp "$headers/ImpFFI.swift" ios-app/ImpKit/Sources/ImpFFI/ImpFFI.swift
cp "$headers/ImpFFIFFI.h" ios-app/ImpKit/Sources/ImpFFIFFI/ImpFFIFFI.h
command -v xcodegen >/dev/null || { echo "XcodeGen is needed: brew install xcodegen" >&2; exit 1; }
(cd ios-app/ImpApp && xcodegen generate)
echo "open ios-app/ImpApp/Imp.xcodeproj"
