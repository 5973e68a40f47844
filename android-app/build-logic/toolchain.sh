#!/usr/bin/env bash
# Installs what the Gradle-free Android build needs on a fresh Debian machine;
# idempotent, downloads cached in $IMP_ANDROID_CACHE (default /opt/imp-android):
#   apt: aapt (aapt2), zipalign, apksigner, dexdump; JDK, Maven, npm, Python 3.11+
#   kotlinc from npm (tests/toolchains/kotlin.sh, /opt/imp-kotlin)
#   Maven Central: android-all (the android.jar), r8 (D8), Robolectric's
#     instrumented android-all jars; the app's libraries are resolved by build-apk.sh
#   PyPI: ziglang (zig cc and LLVM's libunwind sources)
#   rustup: the Android targets; a debug keystore made by keytool
set -euo pipefail
cd "$(dirname "$0")/../.."

missing=()
for tool in aapt2:aapt zipalign:zipalign apksigner:apksigner dexdump:dexdump java:openjdk-17-jdk-headless \
  javac:openjdk-17-jdk-headless keytool:openjdk-17-jdk-headless mvn:maven npm:npm python3:python3 \
  pip3:python3-pip readelf:binutils unzip:unzip; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "android: apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
python3 -c 'import tomllib' 2>/dev/null || { echo "android: Python 3.11+ needed (tomllib)" >&2; exit 1; }

source android-app/build-logic/env.sh
mkdir -p "$CACHE"
bash tests/toolchains/kotlin.sh "$KOTLIN_HOME" >/dev/null

fetch() { # G:A:V [ext]
  local file
  file=$(m2_file "$1" "${2:-jar}")
  [ -f "$file" ] && return
  echo "android: fetching $1"
  local log
  log=$(mvn -q -B "-Dmaven.repo.local=$CACHE/m2" dependency:get "-Dartifact=$1${2:+:$2}" -Dtransitive=false 2>&1) ||
    { echo "$log" >&2; exit 1; }
  [ -f "$file" ] || { echo "android: $1 did not arrive at $file" >&2; exit 1; }
}
fetch "$(catalog module android-all)"
fetch "$(catalog module r8)"
mkdir -p "$ROBOLECTRIC_DEPS"
for sdk in 34 35; do
  coords=$(catalog module android-all-instrumented-$sdk)
  fetch "$coords"
  # Robolectric's offline resolver wants the plain file name in one directory.
  ln -sf "$(m2_file "$coords")" "$ROBOLECTRIC_DEPS/$(basename "$(m2_file "$coords")")"
done

zig_version=$(catalog version ziglang)
if [ ! -x "$ZIG" ]; then
  echo "android: pip install ziglang==$zig_version"
  tmp=$CACHE/ziglang-$zig_version.tmp
  rm -rf "$tmp" && mkdir -p "$tmp"
  # A wheel is a zip: downloading and unpacking it needs no virtualenv.
  python3 -m pip download -q --disable-pip-version-check --no-deps -d "$tmp" "ziglang==$zig_version"
  python3 -m zipfile -e "$tmp"/ziglang-*.whl "$tmp" && rm "$tmp"/ziglang-*.whl
  chmod +x "$tmp/ziglang/zig"
  mv "$tmp" "$CACHE/ziglang-$zig_version"
fi

if command -v rustup >/dev/null; then
  rustup target add aarch64-linux-android x86_64-linux-android >/dev/null 2>&1
fi

# The same kind of key Android Studio makes for debug builds.
if [ ! -f "$KEYSTORE" ]; then
  keytool -genkeypair -keystore "$KEYSTORE" -storepass android -keypass android -alias androiddebugkey \
    -keyalg RSA -keysize 2048 -validity 10000 -dname "CN=Android Debug,O=Android,C=US" >/dev/null 2>&1
fi
echo "android: toolchain ready in $CACHE"
