#!/usr/bin/env bash
# The Android app without Gradle: installs the toolchain (first run only,
# cached in /opt/imp-android), builds and checks android-app/build/imp.apk,
# then runs the app's Robolectric tests with screenshots and the Rust core.
# See tests/android/*.sh for each part and README.md ("Building the Android app").
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
timed() {
  local t=$SECONDS
  "$@"
  echo "android: $(basename "$2") took $((SECONDS - t)) s"
}
timed bash tests/android/toolchain.sh
timed bash tests/android/build-apk.sh
timed bash tests/android/test.sh
echo "android: done in $((SECONDS - start)) s: android-app/build/imp.apk, android-app/build/screenshots/"
