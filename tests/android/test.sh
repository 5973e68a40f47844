#!/usr/bin/env bash
# Runs the app's Robolectric tests (android-app/app/src/test/kotlin) on the JVM,
# offline, with the resource APK build-apk.sh linked, Robolectric's native
# graphics for every test (one sandbox for all; screenshots to
# android-app/build/screenshots/) and the host-built
# Rust core (target/debug/libimp_ffi.so through JNA). Prints the JUnit
# Platform console launcher's tree and summary. Run build-apk.sh first.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/android/env.sh
OBJ=$BUILD/intermediates
TEST_OBJ=$BUILD/test
[ -f "$OBJ/resources.apk" ] || { echo "android: run tests/android/build-apk.sh first" >&2; exit 1; }
rm -rf "$TEST_OBJ" "$BUILD/screenshots" && mkdir -p "$TEST_OBJ/classes" "$TEST_OBJ/config/com/android/tools"

step "resolving the test libraries"
TEST_CLOSURE=$CACHE/closures/app-test.json
python3 $HERE/resolve.py --cache "$CACHE" --out "$TEST_CLOSURE" \
  $(catalog bundle app) $(catalog bundle app-test) "$(catalog module jna)"
TEST_LIBS=$(python3 -c "
import json, sys
print(':'.join(j for e in json.load(open(sys.argv[1]))['artifacts'] for j in e['jars']))" "$TEST_CLOSURE")

step "compiling the tests"
APP_CLASSES=$OBJ/classes:$OBJ/r-classes
nice "$KOTLINC" -nowarn -jvm-target 17 -Xplugin="$COMPOSE_PLUGIN" \
  -cp "$ANDROID_JAR:$APP_CLASSES:$TEST_LIBS" -d "$TEST_OBJ/classes" $APP/src/test/kotlin

# How Robolectric finds the app's resources and manifest (as AGP's
# includeAndroidResources writes it).
cat > "$TEST_OBJ/config/com/android/tools/test_config.properties" <<EOF
android_resource_apk=$PWD/$OBJ/resources.apk
android_merged_manifest=$PWD/$OBJ/AndroidManifest.xml
android_custom_package=$(gradle_value namespace)
EOF

step "running the Robolectric tests"
# android.jar last, as Gradle has it: Robolectric's own annotations refer to
# Android classes; the sandbox loads its instrumented android-all instead.
nice java -Xmx3g \
  -Drobolectric.offline=true -Drobolectric.dependency.dir="$ROBOLECTRIC_DEPS" \
  -Drobolectric.graphicsMode=NATIVE \
  -Djna.library.path="$PWD/target/debug" -Dimp.fixtures="$PWD/tests/fixtures" \
  -Dimp.screenshots="$PWD/$BUILD/screenshots" \
  -jar "$JUNIT_CONSOLE" execute \
  --class-path "$TEST_OBJ/classes:$TEST_OBJ/config:$APP_CLASSES:$TEST_LIBS:$ANDROID_JAR" \
  --scan-class-path "$TEST_OBJ/classes" --disable-banner --details=tree --fail-if-no-tests
ls "$BUILD"/screenshots/*.png >/dev/null 2>&1 || { echo "android: FAILED: no screenshot was written" >&2; exit 1; }
echo "android: screenshots in $BUILD/screenshots: $(cd "$BUILD/screenshots" && ls | paste -sd' ' -)"
