#!/bin/bash
# Builds sandbox the way a distribution packages it -- Release, no -Werror (that belongs to
# our own dev and CI builds), the hardening flags of Debian/Fedora packaging and LTO -- then
# runs a smoke test of the binary (as the caller, and as an unprivileged uid when root).
# Usage: scripts/release-build.sh [BUILD_DIR]   (default build-release)
# Set RELEASE_TESTS=1 to build and run the unit tests in that configuration as well.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-release}
flags="-O2 -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fstack-clash-protection -fcf-protection"
tests=OFF
[ "${RELEASE_TESTS:-0}" = 1 ] && tests=ON
# CMAKE_CXX_FLAGS_RELEASE: -O2 as distributions use, not CMake's -O3.
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_CXX_FLAGS_RELEASE="-DNDEBUG" \
  -DCMAKE_INTERPROCEDURAL_OPTIMIZATION=ON -DCMAKE_EXE_LINKER_FLAGS="-Wl,-z,relro,-z,now" \
  -DSANDBOX_WERROR=OFF -DSANDBOX_BUILD_TESTS=$tests >/dev/null
targets=(sandbox)
[ $tests = ON ] && targets+=(unit_tests)
cmake --build "$dir" -j"$(nproc)" --target "${targets[@]}"

bin=$dir/sandbox
echo "== $("$bin" --version)"
# The flags reached every compile (and LTO the link).
for f in -D_FORTIFY_SOURCE=3 -fstack-clash-protection -fcf-protection -flto; do
  grep -q -- "$f" "$dir/compile_commands.json" ||
    { echo "release-build: $f missing from $dir/compile_commands.json" >&2; exit 1; }
done
root=(--ro-bind /usr /usr)
for d in bin lib lib64 sbin; do
  if [ -L "/$d" ]; then root+=(--symlink "$(readlink "/$d")" "/$d")
  elif [ -d "/$d" ]; then root+=(--ro-bind "/$d" "/$d"); fi
done
smoke() {
  local b=$1; shift
  local out
  out=$("$@" "$b" "${root[@]}" --proc /proc --dev /dev --unshare-all --die-with-parent \
        --seccomp-profile default -- sh -c 'echo "uid=$(id -u) pid=$$"; grep -c . /proc/self/mountinfo >/dev/null && echo ok')
  echo "$out"
  case $out in *"pid=2"*ok*|*"pid=1"*ok*) ;; *) echo "release-build: smoke test failed: $out" >&2; exit 1 ;; esac
}
smoke "$bin"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  # The unprivileged case, from a world-readable copy with its profiles next to it.
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/bin" "$tmp/share/sandbox"
  cp "$bin" "$tmp/bin/sandbox"
  cp -r seccomp-profiles profiles "$tmp/share/sandbox/"
  chmod -R a+rX "$tmp"
  smoke "$tmp/bin/sandbox" setpriv --reuid 23456 --regid 23456 --clear-groups
fi
if [ $tests = ON ]; then
  "$dir/tests/unit_tests" --gtest_brief=1
fi
echo "release-build: OK"
