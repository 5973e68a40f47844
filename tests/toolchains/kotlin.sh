#!/usr/bin/env bash
# Installs a Kotlin compiler (the npm package `kotlin-compiler` is the full
# distribution) and the jars the bindings and their tests need, from Maven
# Central, at the versions of android-app/gradle/libs.versions.toml.
# Idempotent; prints the install directory.
# Usage: kotlin.sh [DIR]   (default /opt/imp-kotlin)
set -euo pipefail
DIR=${1:-/opt/imp-kotlin}
version() { python3 "$(dirname "$0")/../../android-app/build-logic/catalog.py" version "$1"; }
KOTLIN_VERSION=$(version kotlin)
JARS=(
  "net.java.dev.jna:jna:$(version jna)"
  "org.jetbrains.kotlinx:kotlinx-coroutines-core-jvm:$(version kotlinx-coroutines)"
  "org.junit.platform:junit-platform-console-standalone:$(version junit-platform)"
)
mkdir -p "$DIR/lib"
if [ "$(cat "$DIR/kotlinc/build.txt" 2>/dev/null)" != "$KOTLIN_VERSION" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "kotlin-compiler@$KOTLIN_VERSION" >/dev/null 2>&1 && tar xzf kotlin-compiler-*.tgz)
  rm -rf "$DIR/kotlinc" && mv "$tmp/package" "$DIR/kotlinc" && rm -rf "$tmp"
  chmod +x "$DIR/kotlinc/bin/"*
fi
for artifact in "${JARS[@]}"; do
  IFS=: read -r group name version <<<"$artifact"
  [ -f "$DIR/lib/$name-$version.jar" ] && continue
  mvn -q dependency:copy -Dartifact="$artifact" -DoutputDirectory="$DIR/lib" >&2
done
echo "$DIR"
