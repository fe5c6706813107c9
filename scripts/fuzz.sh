#!/bin/bash
# Builds the libFuzzer targets with clang (ASan+UBSan, into build-fuzz/) and runs each one
# for SECONDS (default 60), starting from the seed corpus in tests/fuzz/corpus/<target>/.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     targets: cli seccomp profile exec bpf dns (default: all)
#   FUZZ_BUILD_DIR=/tmp/f scripts/fuzz.sh 600 cli
#
# New inputs go to <build>/corpus/<target>/ (kept between runs), crashes to
# <build>/artifacts/. Exit status 1 when a fuzzer found a crash, a leak, a sanitizer report
# or an uncaught exception: its log and the reproducer are printed. Fix the bug, then add
# the reproducer to tests/fuzz/corpus/<target>/ so that the replay tests keep it fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(cli seccomp profile exec bpf dns)
dir=${FUZZ_BUILD_DIR:-build-fuzz}

CC=clang CXX=clang++ cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSANDBOX_WERROR=ON \
  -DSANDBOX_FUZZ=ON -DSANDBOX_BUILD_TESTS=OFF >/dev/null
cmake --build "$dir" -j"$(nproc)" --target "${targets[@]/#/fuzz_}"

status=0 passed=0 failed=0
for t in "${targets[@]}"; do
  mkdir -p "$dir/corpus/$t" "$dir/artifacts"
  log="$dir/fuzz-$t.log"
  echo "== fuzz_$t: ${secs} s"
  # stdin is /dev/null and the output a file: the cli fuzzer may name descriptors 0-2 in
  # --args, which must never block on a terminal.
  # Profiles are written in the option language: the argument parser's dictionary serves.
  dict=tests/fuzz/$t.dict
  [ "$t" = profile ] && dict=tests/fuzz/cli.dict
  dict_opt=()
  [ -f "$dict" ] && dict_opt=(-dict="$dict")
  if "$dir/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
      "${dict_opt[@]}" -artifact_prefix="$dir/artifacts/$t-" -print_final_stats=1 \
      "$dir/corpus/$t" "tests/fuzz/corpus/$t" </dev/null >"$log" 2>&1; then
    grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "$log" | tr '\n' ' '
    echo
    passed=$((passed + 1))
  else
    tail -n 80 "$log"
    echo "fuzz_$t FAILED (log: $log); reproducers:" $(ls "$dir/artifacts/$t-"* 2>/dev/null)
    echo "replay one with: $dir/fuzz_$t FILE"
    status=1 failed=$((failed + 1))
  fi
done
echo "fuzz targets: $passed passed, $failed failed"
exit "$status"
