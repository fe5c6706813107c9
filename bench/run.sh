#!/bin/bash
# Start-up benchmark: builds sandbox and startup_bench, then runs startup_bench (sandbox
# against bwrap and the unshare floor), seccomp_bench when it is built, and egress_bench.
#
#   bench/run.sh                      # everything, default rounds (about 1-2 minutes)
#   bench/run.sh --runs 50            # quicker, noisier
#   bench/run.sh --only 2 --runs 500  # one scenario; any startup_bench option works
#   BUILD_DIR=/path/to/build bench/run.sh
#
# Run it as root to measure the rootless case (the commands drop to uid 65534, see
# --uid / --as-root) or as an ordinary user. See bench/README.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"

if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S "$ROOT" -B "$BUILD_DIR"
fi
# seccomp_bench is another engineer's program: built when the project defines it.
targets=(sandbox startup_bench egress_bench)
if grep -q 'add_executable(seccomp_bench' "$ROOT/CMakeLists.txt" 2>/dev/null; then
  targets+=(seccomp_bench)
fi
cmake --build "$BUILD_DIR" -j"$(nproc)" --target "${targets[@]}"

echo
status=0
"$BUILD_DIR/startup_bench" --sandbox "$BUILD_DIR/sandbox" "$@" || status=$?

if [ -x "$BUILD_DIR/seccomp_bench" ]; then
  echo
  echo "== seccomp_bench (scenario 5: seccomp filter overhead)"
  "$BUILD_DIR/seccomp_bench" || echo "seccomp_bench exited with status $?"
fi
if [ -x "$BUILD_DIR/egress_bench" ]; then
  echo
  echo "== egress_bench (--allow-net: table load, start-up, per connection)"
  "$BUILD_DIR/egress_bench" --sandbox "$BUILD_DIR/sandbox" || echo "egress_bench exited with status $?"
fi
exit "$status"
