#!/usr/bin/env bash
# Type-checks the app's platform adapters that only need small frameworks
# (App/Platform/: photo picker item, speech recognition and synthesis, network
# cost) in Swift 6 mode against the stand-ins here, so that a Sendable or
# actor-isolation error in them is found on Linux, not first in Xcode. Run by
# tests/swift.sh inside the chroot, in ios-app/ImpApp, after `swift test`
# built the package's modules. The SwiftUI screens, UIKit and the camera are
# too large to stand in for: only parsed (tests/ios.sh).
set -euo pipefail
HERE=Tests/AppleStandIns
ADAPTERS=(App/Platform/PickedItems.swift App/Platform/SpeechRecognizerInput.swift
  App/Platform/SynthesizerVoice.swift App/Platform/PathNetworkCost.swift)
MODULES=$(swift build --show-bin-path)/Modules
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
# In dependency order: Speech imports AVFoundation.
for framework in AVFoundation Speech PhotosUI SwiftUI Network; do
  swiftc -swift-version 6 -parse-as-library -emit-module -module-name "$framework" -I "$OUT" \
    -o "$OUT/$framework.swiftmodule" "$HERE/$framework.swift"
done
swiftc -typecheck -swift-version 6 -I "$OUT" -I "$MODULES" -I ../ImpKit/Sources/ImpFFIFFI \
  "${ADAPTERS[@]}"
echo "type-checked in Swift 6 against stand-ins: ${ADAPTERS[*]}"
