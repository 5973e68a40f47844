# Sourced by the Android build scripts (from the repository root): where the
# tools and downloads live, and the versions, all from the one catalog
# android-app/gradle/libs.versions.toml.
# IMP_ANDROID_CACHE moves the download cache (default /opt/imp-android).
CACHE=${IMP_ANDROID_CACHE:-/opt/imp-android}
KOTLIN_HOME=${KOTLIN_HOME:-/opt/imp-kotlin}
HERE=android-app/build-logic
APP=android-app/app
BUILD=android-app/build
# Cargo's output (CARGO_TARGET_DIR when several checkouts share one build).
TARGET=${CARGO_TARGET_DIR:-target}

catalog() { python3 $HERE/catalog.py "$@"; }
# The file of a Maven artifact (G:A:V) in the cache's local repository.
m2_file() {
  local g a v
  IFS=: read -r g a v <<<"$1"
  echo "$CACHE/m2/${g//.//}/$a/$v/$a-$v.${2:-jar}"
}
# A value of app/build.gradle.kts (namespace, applicationId, versionName...):
# the app's identity is written there once.
gradle_value() {
  sed -n "s/^ *$1 = \"\{0,1\}\([^\"]*\)\"\{0,1\}$/\1/p" $APP/build.gradle.kts | head -1
}

MIN_SDK=$(catalog version minSdk)
TARGET_SDK=$(catalog version targetSdk)
ANDROID_JAR=$(m2_file "$(catalog module android-all)")
R8_JAR=$(m2_file "$(catalog module r8)")
ZIG=$CACHE/ziglang-$(catalog version ziglang)/ziglang/zig
KOTLINC=$KOTLIN_HOME/kotlinc/bin/kotlinc
COMPOSE_PLUGIN=$KOTLIN_HOME/kotlinc/lib/compose-compiler-plugin.jar
JUNIT_CONSOLE=$KOTLIN_HOME/lib/junit-platform-console-standalone-$(catalog version junit-platform).jar
# Robolectric looks up its instrumented android-all jars here (offline).
ROBOLECTRIC_DEPS=$CACHE/robolectric-deps
KEYSTORE=$CACHE/debug.keystore

step_start=$SECONDS
step() {
  echo "android: $* ($((SECONDS - step_start)) s so far)"
}
