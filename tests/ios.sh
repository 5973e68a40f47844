#!/usr/bin/env bash
# The iOS app's checks on Linux, where no iOS SDK exists (docs/ios.md, "The iOS app"):
# 1. a syntax check (`swiftc -parse`) of every Swift file of ios-app/ImpApp: the
#    SwiftUI screens, the AVFoundation/Speech/UIKit adapters and the share
#    extension can only be parsed here (not type-checked, not compiled), so that
#    a typo cannot land;
# 2. no fixed font sizes in the app's views: text must follow Dynamic Type up to
#    the accessibility sizes;
# 3. what App Store Connect and Xcode would refuse (tests/ios_bundle.py): the
#    privacy manifests against the APIs the sources use, the icon set, the
#    signing files, versions and export compliance in project.yml;
# 4. the logic package's tests (`swift test` in ios-app/ImpApp, in the Swift 6
#    chroot), on fakes and on the real core with the fixture models;
# 5. the platform adapters that need only small frameworks (photo picker item,
#    speech, network) type-checked in Swift 6 mode against stand-ins for those
#    frameworks (ios-app/ImpApp/Tests/AppleStandIns, run by tests/swift.sh).
# ImpKit's own tests belong to the swift stage (tests/swift.sh with no
# argument) and are not run again here.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(bash tests/toolchains/swift.sh)
APP=ios-app/ImpApp

mapfile -t FILES < <(find "$APP" -name '*.swift' -not -path '*/.build/*' | sort)
mapfile -t APPLE_ONLY < <(printf '%s\n' "${FILES[@]}" | grep -E "^$APP/(App|ShareExtension)/")
[ ${#APPLE_ONLY[@]} -gt 0 ] || { echo "no app sources under $APP/App" >&2; exit 1; }

# The chroot sees only its own tree: parse copies of the files there.
PARSE=$(mktemp -d "$ROOT/tmp/ios-parse.XXXXXX")
trap 'rm -rf "$PARSE"' EXIT
for f in "${FILES[@]}"; do
  mkdir -p "$PARSE/$(dirname "$f")"
  cp "$f" "$PARSE/$f"
done
echo "== swiftc -parse: ${#FILES[@]} Swift files of $APP (${#APPLE_ONLY[@]} of them only parsed, never compiled here)"
chroot "$ROOT" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root \
  bash -c "cd /tmp/$(basename "$PARSE") && swiftc -parse $(printf '%q ' "${FILES[@]}")"
echo "parse check passed"

echo "== Dynamic Type: no fixed font sizes in the app's views"
if grep -nE '\.system\(size:|[Ff]ont\(ofSize:|\.custom\([^)]*size:' "${APPLE_ONLY[@]}" | grep -v 'relativeTo:'; then
  echo "fixed font sizes above do not grow with Dynamic Type: use text styles (.body, .headline...)" >&2
  exit 1
fi
echo "no fixed font sizes"

echo "== the bundle: privacy manifests, icon set, signing, project.yml"
python3 tests/ios_bundle.py

bash tests/swift.sh "$APP"
