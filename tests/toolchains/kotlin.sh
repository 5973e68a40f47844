#!/usr/bin/env bash
# Installs a Kotlin compiler (the npm package `kotlin-compiler` is the full
# distribution) and the jars the bindings and their tests need, from Maven
# Central. Idempotent; prints the install directory.
# Usage: kotlin.sh [DIR]   (default /opt/imp-kotlin)
set -euo pipefail
DIR=${1:-/opt/imp-kotlin}
KOTLIN_VERSION=2.4.20
JARS=(
  net.java.dev.jna:jna:5.17.0
  org.jetbrains.kotlinx:kotlinx-coroutines-core-jvm:1.10.2
  org.junit.platform:junit-platform-console-standalone:1.13.4
)
mkdir -p "$DIR/lib"
if [ ! -x "$DIR/kotlinc/bin/kotlinc" ]; then
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
