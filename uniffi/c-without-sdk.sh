# Sourced, not run. Lets cargo compile the little C in the dependency graph
# (ring's, under rustls) for the phones on a machine with neither the Android
# NDK nor Xcode: Debian's clang cross-compiles it freestanding, which ring
# supports (RING_CORE_NOSTDLIBINC: no libc headers, only clang's own). On a
# machine with the NDK (cargo-ndk) or Xcode the real toolchains are used
# instead; nothing here is needed there.
#
#   c_without_sdk <rust-target> <android-api|ios-min-version>

c_without_sdk() {
  local target=$1 level=$2 var
  command -v clang >/dev/null && command -v llvm-ar >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang llvm >/dev/null
  }
  var=${target//-/_}
  local flags="-ffreestanding -nostdlibinc -DRING_CORE_NOSTDLIBINC=1"
  case "$target" in
    *-linux-android*)
      flags="--target=${target}${level} $flags"
      ;;
    *-apple-ios*)
      # The one SDK header ring reads on Apple targets, as an iOS device sees
      # it; cc-rs also wants an SDK root to point -isysroot at.
      local sdk
      sdk=$(mktemp -d)
      mkdir -p "$sdk/include"
      printf '%s\n' '/* Stand-in for the iOS SDK header, for compile checks without Xcode. */' \
        '#define TARGET_OS_MAC 1' '#define TARGET_OS_OSX 0' \
        '#define TARGET_OS_IPHONE 1' '#define TARGET_OS_IOS 1' >"$sdk/include/TargetConditionals.h"
      export SDKROOT=$sdk
      flags="--target=arm64-apple-ios${level} $flags -isystem $sdk/include"
      ;;
  esac
  export "CC_${var}=clang" "AR_${var}=llvm-ar" "CFLAGS_${var}=$flags"
}
