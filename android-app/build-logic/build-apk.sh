#!/usr/bin/env bash
# Builds android-app/build/imp.apk without Gradle and checks it:
#   libraries   the app's closure from Maven Central (resolve.py), aars unpacked
#   bindings    UniFFI Kotlin bindings from the host-built libimp_ffi.so
#   resources   aapt2 compile (each library's res/ once, cached) and link, R classes
#   code        kotlinc with the Compose compiler plugin: the app, android-app/imp-kotlin
#               and the bindings; D8 (libraries dexed once per closure, cached)
#   native      libimp_ffi.so and JNA's libjnidispatch.so for arm64-v8a and x86_64 (native.sh)
#   package     apk.py (native libraries stored, 16 KiB aligned), apksigner with the
#               debug key, then apksigner verify, zipalign -c, aapt dump badging, dexdump
# Also leaves what the Robolectric tests need in android-app/build/ (resource
# APK, manifest, classes). Run android-app/build-logic/toolchain.sh first.
set -euo pipefail
cd "$(dirname "$0")/../.."
source android-app/build-logic/env.sh
fail() { echo "android: FAILED: $*" >&2; exit 1; }

NAMESPACE=$(gradle_value namespace)
APP_ID=$(gradle_value applicationId)
OBJ=$BUILD/intermediates
rm -rf "$OBJ" "$BUILD/imp.apk" && mkdir -p "$OBJ"/{res,gen,r-classes,classes,dex} "$CACHE/closures"

step "resolving the app's libraries"
APP_CLOSURE=$CACHE/closures/app.json
python3 $HERE/resolve.py --cache "$CACHE" --out "$APP_CLOSURE" --aar net.java.dev.jna:jna \
  $(catalog bundle app) "$(catalog module jna)"
closure() { python3 -c "
import json, sys
for e in json.load(open(sys.argv[1]))['artifacts']:
    for v in ([e[sys.argv[2]]] if sys.argv[2] != 'jars' else e['jars']):
        if v: print(v)" "$@"; }
mapfile -t LIB_JARS < <(closure "$APP_CLOSURE" jars)
mapfile -t LIB_RES < <(closure "$APP_CLOSURE" res)
LIB_PACKAGES=$(closure "$APP_CLOSURE" package | sort -u | paste -sd: -)
LIB_CP=$(IFS=:; echo "${LIB_JARS[*]}")

step "generating the UniFFI bindings"
# The Rust stage's build (same feature resolution): nothing to rebuild after it.
nice cargo build --workspace --all-targets --locked
BINDINGS=$OBJ/bindings
"$TARGET/debug/uniffi-bindgen" generate --library "$TARGET/debug/libimp_ffi.so" --language kotlin \
  --no-format --out-dir "$BINDINGS"

step "compiling and linking resources"
# Library resources never change for a version: compiled once into the cache.
RES_ARGS=()
for res in "${LIB_RES[@]}"; do
  flat=$CACHE/aapt2/$(echo "$res" | sha256sum | cut -c1-16).zip
  if [ ! -f "$flat" ]; then
    mkdir -p "$CACHE/aapt2"
    aapt2 compile --dir "$res" -o "$flat.tmp" && mv "$flat.tmp" "$flat"
  fi
  RES_ARGS+=(-R "$flat")
done
aapt2 compile --dir $APP/src/main/res -o "$OBJ/res/app.zip"
# The manifest as AGP would merge it: package and <uses-sdk> from the build
# files (Robolectric reads it too).
sed -e "s|<manifest |<manifest package=\"$APP_ID\" |" \
  -e "s|^\( *\)<application|\1<uses-sdk android:minSdkVersion=\"$MIN_SDK\" android:targetSdkVersion=\"$TARGET_SDK\" />\n\n&|" \
  $APP/src/main/AndroidManifest.xml > "$OBJ/AndroidManifest.xml"
grep -q "<uses-sdk" "$OBJ/AndroidManifest.xml" || fail "could not add <uses-sdk> to the manifest"
# aapt2 warns about chunk type 200 in the API 34 framework resources: harmless.
aapt2 link -I "$ANDROID_JAR" --manifest "$OBJ/AndroidManifest.xml" \
  --min-sdk-version "$MIN_SDK" --target-sdk-version "$TARGET_SDK" \
  --version-code "$(gradle_value versionCode)" --version-name "$(gradle_value versionName)" \
  "${RES_ARGS[@]}" -R "$OBJ/res/app.zip" --auto-add-overlay \
  --custom-package "$NAMESPACE" --extra-packages "$LIB_PACKAGES" --java "$OBJ/gen" \
  --output-text-symbols "$OBJ/R.txt" -o "$OBJ/resources.apk" 2> >(grep -v "Unknown chunk type '200'" >&2)
find "$OBJ/gen" -name R.java > "$OBJ/r-sources.txt"
javac -nowarn -source 17 -target 17 -encoding UTF-8 -cp "$ANDROID_JAR" -d "$OBJ/r-classes" @"$OBJ/r-sources.txt" 2>&1 \
  | grep -v "^warning: \[options\]" || true
[ -f "$OBJ/r-classes/${NAMESPACE//.//}/R.class" ] || fail "R classes were not compiled"

step "compiling Kotlin (app, imp-kotlin, bindings) with the Compose compiler"
nice "$KOTLINC" -nowarn -jvm-target 17 -Xplugin="$COMPOSE_PLUGIN" \
  -cp "$ANDROID_JAR:$OBJ/r-classes:$LIB_CP" -d "$OBJ/classes" \
  $APP/src/main/kotlin android-app/imp-kotlin/src/main/kotlin "$BINDINGS"
jar cf "$OBJ/app.jar" -C "$OBJ/classes" . -C "$OBJ/r-classes" .

step "dexing"
d8() { nice java -Xmx3g -cp "$R8_JAR" com.android.tools.r8.D8 --release --min-api "$MIN_SDK" --lib "$ANDROID_JAR" "$@"; }
# The libraries' dex depends only on the closure, D8's version and minSdk.
LIB_DEX=$CACHE/dex/$( (printf '%s\n' "${LIB_JARS[@]}"; echo "$R8_JAR $MIN_SDK") | sha256sum | cut -c1-16)
if [ ! -f "$LIB_DEX/classes.dex" ]; then
  rm -rf "$LIB_DEX.tmp" && mkdir -p "$LIB_DEX.tmp"
  d8 --output "$LIB_DEX.tmp" "${LIB_JARS[@]}"
  rm -rf "$LIB_DEX" && mv "$LIB_DEX.tmp" "$LIB_DEX"
fi
CP_ARGS=()
for j in "${LIB_JARS[@]}"; do CP_ARGS+=(--classpath "$j"); done
d8 "${CP_ARGS[@]}" --output "$OBJ/dex" "$OBJ/app.jar"
# The app's code is classes.dex, the libraries' classes2.dex onwards (native multidex).
n=2
for dex in $(ls "$LIB_DEX" | sort -V); do
  cp "$LIB_DEX/$dex" "$OBJ/dex/classes$n.dex"
  n=$((n + 1))
done

step "linking the native libraries"
JNA_JNI=$(closure "$APP_CLOSURE" jni | grep -m1 "/jna-")
JNA_JNI=$JNA_JNI bash $HERE/native.sh "$CACHE"

step "packaging and signing"
python3 $HERE/apk.py assemble --resources "$OBJ/resources.apk" --dex "$OBJ/dex" --lib "$BUILD/jniLibs" \
  --out "$OBJ/unsigned.apk" --java-res "${LIB_JARS[@]}"
apksigner sign --ks "$KEYSTORE" --ks-pass pass:android --key-pass pass:android --ks-key-alias androiddebugkey \
  --out "$BUILD/imp.apk" "$OBJ/unsigned.apk"
APK=$BUILD/imp.apk

step "checking the APK"
apksigner verify -v --min-sdk-version "$MIN_SDK" "$APK" | tee "$OBJ/verify.txt" | grep -E "^Verifie|^Number"
# minSdk 28+: apksigner writes the v3 scheme (Android 9+) and no v1/v2.
grep -qx "Verifies" "$OBJ/verify.txt" || fail "apksigner verify"
grep -q "^Verified using v3 scheme (APK Signature Scheme v3): true" "$OBJ/verify.txt" || fail "no v3 signature"
zipalign -c -p 4 "$APK" || fail "zipalign -c -p 4"
python3 $HERE/apk.py check "$APK"
aapt dump badging "$APK" > "$OBJ/badging.txt" 2>/dev/null
expect() { grep -qxF "$1" "$OBJ/badging.txt" || fail "aapt dump badging has no line: $1"; }
expect "package: name='$APP_ID' versionCode='$(gradle_value versionCode)' versionName='$(gradle_value versionName)'$(sed -n "s/^package: name='[^']*' versionCode='[^']*' versionName='[^']*'//p" "$OBJ/badging.txt")"
expect "sdkVersion:'$MIN_SDK'"
expect "targetSdkVersion:'$TARGET_SDK'"
abis=$(for abi in ${IMP_ANDROID_ABIS:-arm64-v8a x86_64}; do printf " '%s'" "$abi"; done)
expect "native-code:$abis"
grep -q "^launchable-activity: name='$NAMESPACE.MainActivity'" "$OBJ/badging.txt" || fail "MainActivity is not the launcher activity"
permissions=$(sed -n "s/^uses-permission: name='\([^']*\)'.*/\1/p" "$OBJ/badging.txt" | sort | paste -sd' ' -)
# The camera, the network for a model's download (and whether it is metered),
# and the foreground service (with its notification) that keeps that download
# going: nothing else.
want="android.permission.ACCESS_NETWORK_STATE android.permission.CAMERA android.permission.FOREGROUND_SERVICE android.permission.FOREGROUND_SERVICE_DATA_SYNC android.permission.INTERNET android.permission.POST_NOTIFICATIONS"
[ "$permissions" = "$want" ] || fail "permissions are '$permissions', want '$want' only"
grep -E "^(package|sdkVersion|targetSdkVersion|uses-permission|native-code|launchable)" "$OBJ/badging.txt"
# A move to a new phone or a backup takes the settings only (res/xml/*_rules.xml,
# whose contents BackupRulesTest checks): the manifest must point at both.
aapt dump xmltree "$APK" AndroidManifest.xml > "$OBJ/manifest-tree.txt" 2>/dev/null
for attribute in dataExtractionRules fullBackupContent; do
  grep -q "A: android:$attribute(0x[0-9a-f]*)=@0x" "$OBJ/manifest-tree.txt" ||
    fail "the manifest's application has no android:$attribute"
done
unzip -qo "$APK" classes.dex -d "$OBJ/check"
dexdump "$OBJ/check/classes.dex" > "$OBJ/check/classes.txt" 2>/dev/null
grep -q "Class descriptor  : 'L${NAMESPACE//.//}/MainActivity;'" "$OBJ/check/classes.txt" ||
  fail "MainActivity is not in classes.dex"
echo "android: built $APK ($(du -k "$APK" | cut -f1) KiB, $(unzip -l "$APK" | grep -c 'classes.*\.dex') dex files)"
