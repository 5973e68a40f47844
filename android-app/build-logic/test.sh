#!/usr/bin/env bash
# Runs the app's Robolectric tests (android-app/app/src/test/kotlin) on the JVM,
# offline, with the resource APK build-apk.sh linked, Robolectric's native
# graphics for every test (one sandbox for all; screenshots to
# android-app/build/screenshots/) and the host-built
# Rust core (target/debug/libimp_ffi.so through JNA) with a small converted
# model (-Dimp.gguf) for the end-to-end tests. Prints the JUnit Platform console
# launcher's tree and summary. Run build-apk.sh first.
# ANDROID_TESTS="ConversationScreenTest ModelsViewModelTest" runs only those
# classes (of app.imp.android), for a quicker loop while working on them.
# Each screenshot is compared with its reference in
# android-app/app/src/test/screenshots/; IMP_RECORD_SCREENSHOTS=1 rewrites the
# references instead (look at each before committing it).
set -euo pipefail
cd "$(dirname "$0")/../.."
source android-app/build-logic/env.sh
OBJ=$BUILD/intermediates
TEST_OBJ=$BUILD/test
[ -f "$OBJ/resources.apk" ] || { echo "android: run android-app/build-logic/build-apk.sh first" >&2; exit 1; }
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

# The tests' manifest: the app's, plus the plain ComponentActivity that
# Compose's createComposeRule() starts (what ui-test-manifest adds to a Gradle
# build's debug manifest; never in the APK).
sed 's|^\( *\)</application>|\1    <activity android:name="androidx.activity.ComponentActivity" android:exported="false" />\n&|' \
  "$OBJ/AndroidManifest.xml" > "$TEST_OBJ/AndroidManifest.xml"
grep -q "androidx.activity.ComponentActivity" "$TEST_OBJ/AndroidManifest.xml" ||
  { echo "android: FAILED: could not add ComponentActivity to the test manifest" >&2; exit 1; }

# A converted model for the store's import and the end-to-end tests (the same
# small file tests/kotlin.sh makes; milliseconds).
"$TARGET/debug/imp" convert --model tests/fixtures/tiny-imp-wide --out "$TEST_OBJ/tiny-wide.gguf" --quant q8_0 2>/dev/null

# How Robolectric finds the app's resources and manifest (as AGP's
# includeAndroidResources writes it).
cat > "$TEST_OBJ/config/com/android/tools/test_config.properties" <<EOF
android_resource_apk=$PWD/$OBJ/resources.apk
android_merged_manifest=$PWD/$TEST_OBJ/AndroidManifest.xml
android_custom_package=$(gradle_value namespace)
EOF

# A loopback hub serving the sharded 384-px fixture as the catalogue's imp-3b
# repository and as one no catalogue lists ("Add a model"), for the end-to-end
# tests; it ends with this script (its standard input closes).
coproc HUB { exec "$TARGET/debug/imp-test-hub" "MILVLG/Imp-v1.5-3B-Phi2=$PWD/tests/fixtures/tiny-imp-384" "someone/Imp-tiny=$PWD/tests/fixtures/tiny-imp-384"; }
read -r HUB_ENDPOINT <&"${HUB[0]}"

# Counts the test JVM's network attempts (android-app/build-logic/network-watch.c), for
# the check that answering never uses the network.
cc -shared -fPIC -O2 -o "$TEST_OBJ/libnetwork-watch.so" android-app/build-logic/network-watch.c -ldl

step "running the Robolectric tests"
SELECT=(--scan-class-path "$TEST_OBJ/classes")
if [ -n "${ANDROID_TESTS:-}" ]; then
  SELECT=()
  for c in $ANDROID_TESTS; do SELECT+=(--select-class "$(gradle_value namespace).$c"); done
fi
# android.jar last, as Gradle has it: Robolectric's own annotations refer to
# Android classes; the sandbox loads its instrumented android-all instead.
# java.io opened to Robolectric: its ParcelFileDescriptor (a content
# provider's files, as another app shares them) reaches into FileDescriptor.
LD_PRELOAD="$PWD/$TEST_OBJ/libnetwork-watch.so" nice java -Xmx3g \
  --add-opens=java.base/java.io=ALL-UNNAMED \
  -Drobolectric.offline=true -Drobolectric.dependency.dir="$ROBOLECTRIC_DEPS" \
  -Drobolectric.graphicsMode=NATIVE \
  -Djna.library.path="$(realpath "$TARGET")/debug" -Dimp.fixtures="$PWD/tests/fixtures" \
  -Dimp.gguf="$PWD/$TEST_OBJ/tiny-wide.gguf" -Dimp.screenshots="$PWD/$BUILD/screenshots" \
  -Dimp.screenshotReferences="$PWD/android-app/app/src/test/screenshots" \
  -Dimp.recordScreenshots="$([ "${IMP_RECORD_SCREENSHOTS:-0}" = 1 ] && echo true || echo false)" \
  -Dimp.hub="$HUB_ENDPOINT" \
  -jar "$JUNIT_CONSOLE" execute \
  --class-path "$TEST_OBJ/classes:$TEST_OBJ/config:$APP_CLASSES:$TEST_LIBS:$ANDROID_JAR" \
  "${SELECT[@]}" --disable-banner --details=tree --fail-if-no-tests \
  --reports-dir "$BUILD/test-reports"  # the XML keeps whole stack traces
[ -n "${ANDROID_TESTS:-}" ] || ls "$BUILD"/screenshots/*.png >/dev/null 2>&1 ||
  { echo "android: FAILED: no screenshot was written" >&2; exit 1; }
echo "android: screenshots in $BUILD/screenshots: $(ls "$BUILD/screenshots" 2>/dev/null | paste -sd' ' -)"
