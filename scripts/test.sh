#!/bin/bash
# Sets up, builds and runs every test stage, then reports each one:
#   plain   build/ (RelWithDebInfo, -Werror) and every CTest test, the VM test included
#   asan    build-asan/ with ASan+UBSan and the same tests (but the VM and docs checks)
#   fuzz    the libFuzzer targets for FUZZ_SECONDS (default 60) each (scripts/fuzz.sh)
#   release a distribution's build (Release, hardening flags, LTO) and its smoke test
#   package the .deb: built, installed with apt-get, used as an unprivileged user, purged
#           (root only: as another user the stage says why and passes)
# Every stage runs even when an earlier one failed; the exit status is non-zero when any
# stage failed. STAGES="plain fuzz" runs a subset. Run as root to cover both the
# unprivileged and the root scenarios (the tests drop to an unprivileged uid themselves);
# as a normal user the root-only scenarios are skipped with a printed reason.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
stages=${STAGES:-plain asan fuzz release package}
logs=${TEST_LOG_DIR:-$top/build-logs}
mkdir -p "$logs"

scripts/deps.sh || { echo "test.sh: installing the dependencies failed" >&2; exit 1; }

declare -a summary=()
failed=0 total_pass=0 total_fail=0 total_skip=0

# ctest's closing lines -> "P passed, F failed, S skipped" (S: the tests it lists as not run).
ctest_counts() {
  local log=$1 line pass fail all skip
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n1)
  if [ -z "$line" ]; then
    # Other runners (scripts/fuzz.sh) close with "WHAT: P passed, F failed".
    line=$(grep -E '^[a-z ]+: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -n1)
    [ -n "$line" ] && sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1 \2 0/' <<<"$line"
    return
  fi
  fail=$(sed -E 's/.* ([0-9]+) tests? failed out of.*/\1/' <<<"$line")
  all=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
  skip=$(grep -cE '^\s+[0-9]+ - .*\((Skipped|Disabled)\)' "$log")
  pass=$((all - fail - skip))
  echo "$pass $fail $skip"
}

# run_stage NAME COMMAND...: runs it with its output shown and kept in $logs/NAME.log.
run_stage() {
  local name=$1 start rc counts line
  shift
  echo "==== stage $name: $*"
  start=$(date +%s)
  "$@" 2>&1 | tee "$logs/$name.log"
  rc=${PIPESTATUS[0]}
  counts=$(ctest_counts "$logs/$name.log")
  if [ -n "$counts" ]; then
    read -r p f s <<<"$counts"
    total_pass=$((total_pass + p)) total_fail=$((total_fail + f)) total_skip=$((total_skip + s))
    line="$p passed, $f failed, $s skipped"
  else
    line="no test counts"
  fi
  if [ "$rc" -eq 0 ]; then
    summary+=("stage $name: OK ($line) in $(( $(date +%s) - start )) s")
  else
    failed=1
    [ -n "$counts" ] || total_fail=$((total_fail + 1))  # a build or fuzz failure counts once
    summary+=("stage $name: FAILED, exit $rc ($line) in $(( $(date +%s) - start )) s; log: $logs/$name.log")
  fi
}

stage_plain() {
  scripts/build.sh build -DSANDBOX_WERROR=ON &&
    (cd build && ctest --output-on-failure -j2 --timeout 300)
}

stage_asan() {
  # -fno-sanitize-recover=undefined (CMakeLists.txt) makes every UBSan report abort the
  # process with a failing status, as ASan does; the options below only add stack traces.
  # -O1 -g1 (ASan's usual level; line tables are enough for its stack traces): the plain
  # -O2 -g builds of the same sources took ~40% longer, and CI must stay under 30 minutes.
  scripts/build.sh build-asan -DSANDBOX_SANITIZE=ON -DSANDBOX_WERROR=ON \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" &&
    (cd build-asan && ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      ctest --output-on-failure -j2 --timeout 300 -E 'docs\.|vm\.')
}

stage_fuzz() {
  scripts/fuzz.sh "${FUZZ_SECONDS:-60}"
}

stage_release() {
  scripts/release-build.sh build-release
}

stage_package() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "package: not root, so the .deb is not installed here (run scripts/test.sh as root)"
    return 0
  fi
  scripts/package-test.sh build-deb
}

for s in $stages; do
  if ! declare -F "stage_$s" >/dev/null; then
    summary+=("stage $s: FAILED (no such stage)")
    failed=1
    continue
  fi
  run_stage "$s" "stage_$s"
done

echo
echo "==== summary"
printf '%s\n' "${summary[@]}"
echo "tests: $total_pass passed, $total_fail failed, $total_skip skipped"
exit "$failed"
