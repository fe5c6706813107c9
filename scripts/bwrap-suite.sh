#!/bin/bash
# Runs bubblewrap's own test suite against sandbox through a `bwrap` symlink, as bubblewrap's
# meson setup runs it (BWRAP = the symlink's full path, G_TEST_SRCDIR = the bubblewrap
# source, G_TEST_BUILDDIR = a directory holding tests/try-syscall), once as root and once
# as an unprivileged uid (setpriv), and prints the ok / skipped / failed counts per file.
#
#   scripts/bwrap-suite.sh BUBBLEWRAP_SRC [SANDBOX_BIN]
#   BWRAP_SRC=/tmp/bwrap-src scripts/bwrap-suite.sh
#
# BUBBLEWRAP_SRC is a checkout of https://github.com/containers/bubblewrap at the version
# we are compatible with (tag v0.11.1); this script never downloads it, and the project
# never contains its code. Without it the script prints why and exits 77 (skipped), so CI,
# which has no copy, skips it. SANDBOX_BIN defaults to build/sandbox.
# Needs: cc (for the suite's try-syscall helper), /usr/bin/python3 with python3-seccomp,
# setpriv (util-linux) for the unprivileged run, capsh/getpcaps (libcap2-bin).
# Run as root to cover both users; as another user only that user's run happens.
# Exit status: 0 when every file passed for every user, 1 otherwise. Logs stay in the
# printed directory (KEEP=1 keeps it on success too).
set -uo pipefail
cd "$(dirname "$0")/.."
src=${1:-${BWRAP_SRC:-}}
bin=${2:-build/sandbox}
unpriv_uid=${UNPRIV_UID:-23456}
files=(test-run.sh test-specifying-userns.sh test-specifying-pidns.sh test-seccomp.py)

if [ -z "$src" ] || [ ! -f "$src/tests/libtest.sh" ]; then
  echo "SKIP: no bubblewrap source checkout given (${src:-none}); pass a checkout of" \
       "containers/bubblewrap tag v0.11.1 as the first argument"
  exit 77
fi
src=$(cd "$src" && pwd)
for f in "${files[@]}"; do
  [ -f "$src/tests/$f" ] || { echo "SKIP: $src/tests/$f is missing"; exit 77; }
done
[ -x "$bin" ] || { echo "error: $bin is not an executable (build it first)"; exit 1; }
command -v cc >/dev/null || { echo "SKIP: no C compiler (cc) for try-syscall"; exit 77; }

work=$(mktemp -d /tmp/bwrap-suite.XXXXXX)
chmod 0755 "$work"
mkdir -p "$work/bin" "$work/build/tests" "$work/logs"
# A world-readable copy, so the unprivileged uid can run it; the symlink is what callers see.
install -m 0755 "$bin" "$work/bin/sandbox"
ln -s sandbox "$work/bin/bwrap"
cc -O2 -o "$work/build/tests/try-syscall" "$src/tests/try-syscall.c" ||
  { echo "error: can't build try-syscall"; exit 1; }

users=()
if [ "$(id -u)" = 0 ]; then
  users=(root unpriv)
  mkdir -p "$work/home-unpriv"
  chown "$unpriv_uid:$unpriv_uid" "$work/home-unpriv" "$work/logs"
else
  users=("$(id -un)")
  echo "# not root: only the $(id -un) run (run as root to cover root and uid $unpriv_uid)"
fi

# One file as one user; prints "ok skipped failed status" and keeps the log.
run_one() {
  local user=$1 file=$2 log="$work/logs/$1-$2.log"
  local -a cmd env_=(env -i "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    "LANG=C.UTF-8" "BWRAP=$work/bin/bwrap" "G_TEST_SRCDIR=$src" "G_TEST_BUILDDIR=$work/build")
  # A sanitizer build of sandbox needs its options (e.g. ASAN_OPTIONS=detect_leaks=0).
  local v
  for v in ASAN_OPTIONS UBSAN_OPTIONS; do [ -z "${!v:-}" ] || env_+=("$v=${!v}"); done
  if [ "$user" = unpriv ]; then
    env_+=("HOME=$work/home-unpriv" "USER=unpriv")
    cmd=(setpriv "--reuid=$unpriv_uid" "--regid=$unpriv_uid" --clear-groups)
  else
    env_+=("HOME=${HOME:-/root}" "USER=$(id -un)")
    cmd=()
  fi
  case $file in
    *.py) env_+=(/usr/bin/python3 "$src/tests/$file" -v) ;;  # -v: one line per unittest
    *) env_+=(bash "$src/tests/$file") ;;
  esac
  (cd "$work" && timeout 600 "${cmd[@]}" "${env_[@]}") >"$log" 2>&1
  echo $?
}

status=0
printf '%-8s %-28s %4s %5s %5s %s\n' user file ok skip fail exit
for user in "${users[@]}"; do
  for file in "${files[@]}"; do
    rc=$(run_one "$user" "$file")
    log="$work/logs/$user-$file.log"
    if [[ $file == *.py ]]; then
      # unittest's summary: "Ran N tests", then "OK (skipped=S)" or
      # "FAILED (failures=F, errors=E, skipped=S)"; -v names each skipped test's reason.
      ran=$(sed -nE 's/^Ran ([0-9]+) tests?.*/\1/p' "$log" | tail -n1)
      summary=$(grep -E '^(OK|FAILED)( \(|$)' "$log" | tail -n1)
      num() { local n; n=$(grep -oE "$1=[0-9]+" <<<"$summary" | cut -d= -f2); echo "${n:-0}"; }
      skip=$(num skipped)
      fail=$(( $(num failures) + $(num errors) ))
      [ -n "$summary" ] || fail=1  # no summary: it crashed
      ok=$(( ${ran:-0} - skip - fail ))
      reasons=$(grep -oE "skipped '.*'" "$log" | sort | uniq -c)
    else
      ok=$(grep -cE '^ok( |$)' "$log")
      skip=$(grep -cE '^ok( .*)?# SKIP' "$log")
      ok=$((ok - skip))
      fail=$(grep -cE '^not ok' "$log")
      reasons=$(grep -E '^ok( .*)?# SKIP' "$log" | sed -E 's/^ok [0-9 -]*//' | sort | uniq -c)
    fi
    [ "$rc" = 0 ] || [ "$fail" != 0 ] || fail=1  # a shell test stops at its first failure
    printf '%-8s %-28s %4s %5s %5s %s\n' "$user" "$file" "$ok" "$skip" "$fail" "$rc"
    [ -z "$reasons" ] || sed 's/^/           skipped:/' <<<"$reasons"
    if [ "$rc" != 0 ] || [ "$fail" != 0 ]; then
      status=1
      echo "---- last lines of $log"
      tail -n 25 "$log"
      echo "----"
    fi
  done
done
if [ "$status" = 0 ] && [ -z "${KEEP:-}" ]; then
  rm -rf "$work"
else
  echo "logs: $work/logs"
fi
exit "$status"
