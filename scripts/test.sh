#!/bin/bash
# Sets up, builds (plain and with ASan+UBSan) and runs every test with CTest.
# Run as root to cover both the unprivileged and the root scenarios (the tests drop to an
# unprivileged uid themselves); as a normal user the root-only scenarios are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build
(cd build && ctest --output-on-failure -j2 --timeout 300)
scripts/build.sh build-asan -DSANDBOX_SANITIZE=ON
(cd build-asan && ASAN_OPTIONS=detect_leaks=0 ctest --output-on-failure -j2 --timeout 300 -E 'docs\.')
