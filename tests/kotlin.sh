#!/usr/bin/env bash
# Builds the host library, generates the Kotlin bindings, compiles the Kotlin
# module (android-app/imp-kotlin) and runs its tests on the desktop JVM.
set -euo pipefail
cd "$(dirname "$0")/.."
KOTLIN=$(bash tests/toolchains/kotlin.sh)
version() { python3 android-app/build-logic/catalog.py version "$1"; }
CONSOLE=$KOTLIN/lib/junit-platform-console-standalone-$(version junit-platform).jar
MODULE=android-app/imp-kotlin
OUT=$MODULE/build
rm -rf "$OUT" && mkdir -p "$OUT/generated" "$OUT/classes" "$OUT/test-classes"

# The same build as the Rust test stage (same feature resolution): no rebuild.
cargo build --workspace --all-targets --locked
LIB=target/debug/libimp_ffi.so
target/debug/uniffi-bindgen generate --library "$LIB" --language kotlin \
  --no-format --out-dir "$OUT/generated"

CP="$KOTLIN/lib/jna-$(version jna).jar:$KOTLIN/lib/kotlinx-coroutines-core-jvm-$(version kotlinx-coroutines).jar"
KOTLINC="$KOTLIN/kotlinc/bin/kotlinc"
"$KOTLINC" -nowarn -jvm-target 17 -cp "$CP" -d "$OUT/classes" \
  "$OUT/generated" "$MODULE/src/main/kotlin"
TEST_CP="$CP:$OUT/classes:$KOTLIN/kotlinc/lib/kotlin-test.jar:$KOTLIN/kotlinc/lib/kotlin-test-junit5.jar:$CONSOLE"
"$KOTLINC" -nowarn -jvm-target 17 -cp "$TEST_CP" -d "$OUT/test-classes" "$MODULE/src/test/kotlin"

# A small converted model for the store and benchmark tests.
target/debug/imp convert --model tests/fixtures/tiny-imp-wide --out "$OUT/tiny-wide.gguf" --quant q8_0 2>/dev/null

# A loopback hub serving the sharded 384-px fixture as the catalogue's imp-3b
# repository, for the install-from-hub test; it ends when this script does
# (its standard input closes).
coproc HUB { exec target/debug/imp-test-hub "MILVLG/Imp-v1.5-3B-Phi2=$PWD/tests/fixtures/tiny-imp-384"; }
read -r HUB_ENDPOINT <&"${HUB[0]}"

java -Djna.library.path="$PWD/target/debug" -Dimp.fixtures="$PWD/tests/fixtures" \
  -Dimp.gguf="$PWD/$OUT/tiny-wide.gguf" -Dimp.hub="$HUB_ENDPOINT" \
  -jar "$CONSOLE" execute \
  --class-path "$TEST_CP:$OUT/test-classes:$KOTLIN/kotlinc/lib/kotlin-stdlib.jar" \
  --scan-class-path "$OUT/test-classes" --disable-banner --details=tree --fail-if-no-tests
