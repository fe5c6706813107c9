#!/bin/bash
# Sets up, builds and runs a demo sandbox that shows the isolation: run it as a normal
# user (no sudo needed for the sandbox itself).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
# Only what the demo runs: the `sandbox` target, tests off (scripts/test.sh turns them back
# on in the same build directory).
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSANDBOX_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" --target sandbox
root=(--ro-bind /usr /usr)
for d in bin lib lib64 sbin lib32 libx32; do
  if [ -L "/$d" ]; then root+=(--symlink "$(readlink "/$d")" "/$d")
  elif [ -d "/$d" ]; then root+=(--ro-bind "/$d" "/$d"); fi
done
set -x
./build/sandbox "${root[@]}" --proc /proc --dev /dev --tmpfs /tmp \
  --unshare-all --hostname sandbox --die-with-parent -- \
  sh -c 'echo "== id:"; id; echo "== hostname: $(hostname)"; echo "== ls /:"; ls /;
         echo "== processes:"; ps -e -o pid,comm; echo "== network:"; cat /proc/net/dev | tail -n +3 | cut -d: -f1;
         echo "== capabilities:"; grep -E "^Cap(Eff|Bnd)|NoNewPrivs" /proc/self/status;
         echo "== writing /usr:"; touch /usr/x 2>&1 || true'
