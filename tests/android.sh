#!/usr/bin/env bash
# The Android app without Gradle: installs the toolchain (first run only,
# cached in /opt/imp-android), builds and checks android-app/build/imp.apk,
# then runs the app's Robolectric tests with screenshots and the Rust core.
# See android-app/build-logic/*.sh for each part and docs/android.md ("Building the Android app").
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
timed() {
  local t=$SECONDS
  "$@"
  echo "android: $(basename "$2") took $((SECONDS - t)) s"
}
timed bash android-app/build-logic/toolchain.sh
timed bash android-app/build-logic/build-apk.sh
timed bash android-app/build-logic/test.sh
echo "android: done in $((SECONDS - start)) s: android-app/build/imp.apk, android-app/build/screenshots/"
