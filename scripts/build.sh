#!/bin/bash
# Configures and builds into build/ (or $1), passing the remaining args to cmake.
# Dev and CI build: warnings are errors here (SANDBOX_WERROR), not in a packager's build.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}; shift || true
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSANDBOX_WERROR=ON -DSANDBOX_BUILD_TESTS=ON "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
