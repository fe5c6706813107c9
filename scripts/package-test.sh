#!/bin/bash
# Builds the Debian package (cpack -G DEB), installs it with apt-get, runs sandboxes as an
# unprivileged user from the installed paths with the installed profiles, purges it and
# checks that nothing it installed is left; then checks the bwrap-symlink install option.
# Run as root on Debian/Ubuntu (it installs and removes the package `sandbox`).
# Usage: scripts/package-test.sh [BUILD_DIR]   (default build-deb)
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "package-test: FAIL: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "run as root: it installs and removes a package"
if dpkg-query -W -f='${Status}' sandbox 2>/dev/null | grep -q "ok installed"; then
  fail "a package named sandbox is already installed; not touching it"
fi
dir=${1:-build-deb}
start=$(date +%s)

# The package's build: /usr prefix, no tests, no -Werror (a packager's build).
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
  -DSANDBOX_BUILD_TESTS=OFF -DSANDBOX_INSTALL_BWRAP_LINK=OFF >/dev/null
cmake --build "$dir" -j"$(nproc)" --target sandbox man
rm -f "$dir"/sandbox_*.deb
(cd "$dir" && cpack -G DEB >/dev/null)
debs=("$dir"/sandbox_*.deb)
[ ${#debs[@]} = 1 ] && [ -f "${debs[0]}" ] || fail "cpack made no single sandbox_*.deb in $dir"
deb=$(realpath "${debs[0]}")
echo "== $deb"
dpkg-deb -f "$deb" Package Version Architecture Depends Recommends Suggests
contents=$(dpkg-deb -c "$deb")
echo "$contents"
for f in ./usr/bin/sandbox ./usr/share/man/man1/sandbox.1.gz \
         ./usr/share/bash-completion/completions/sandbox ./usr/share/zsh/vendor-completions/_sandbox \
         ./usr/share/fish/vendor_completions.d/sandbox.fish \
         ./usr/share/sandbox/profiles/build.profile ./usr/share/sandbox/profiles/desktop.profile \
         ./usr/share/sandbox/seccomp-profiles/default.json ./etc/apparmor.d/sandbox; do
  grep -q " $f\$" <<<"$contents" || fail "$f is not in the package"
done
grep -q " ./usr/bin/bwrap" <<<"$contents" && fail "the bwrap link is in the package without the option"
dpkg-deb --ctrl-tarfile "$deb" | tar -t | grep -q '^./conffiles$' || fail "no conffiles"

export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends "$deb" >/dev/null
trap 'apt-get purge -y -qq sandbox >/dev/null 2>&1 || true' EXIT
mapfile -t installed < <(dpkg -L sandbox | while read -r p; do [ -f "$p" ] && echo "$p"; done)
[ "$(command -v sandbox)" = /usr/bin/sandbox ] || fail "sandbox is not /usr/bin/sandbox on PATH"
grep -q '^profile sandbox /usr/bin/sandbox ' /etc/apparmor.d/sandbox || fail "AppArmor profile not for /usr/bin/sandbox"

# As an unprivileged user (uid 23456, no groups), in a clean environment, from its home.
home=$(mktemp -d); chown 23456:23456 "$home"
as_user() {
  (cd "$home" && setpriv --reuid 23456 --regid 23456 --clear-groups \
    env -i PATH=/usr/bin:/bin HOME="$home" LC_ALL=C "$@")
}
profiles=$(as_user sandbox --list-profiles)
for p in build desktop minimal dbus; do grep -qx "$p" <<<"$profiles" || fail "--list-profiles lacks $p: $profiles"; done
as_user sandbox seccomp-compile --list | grep -qx default || fail "seccomp-compile --list lacks default"
out=$(as_user sandbox --profile build -- sh -c 'echo "uid=$(id -u) pid=$$ cwd=$(pwd)"; grep ^Seccomp: /proc/self/status; touch ok-from-sandbox')
echo "$out"
grep -q "uid=23456 pid=2 cwd=$home" <<<"$out" || fail "--profile build did not run as expected: $out"
grep -q "Seccomp:[[:space:]]*2" <<<"$out" || fail "no seccomp filter from the installed default profile"
[ -f "$home/ok-from-sandbox" ] || fail "the build profile's writable cwd did not reach the host"
out=$(as_user sandbox --profile minimal --unshare-all --seccomp-profile default -- cat /proc/self/uid_map)
grep -q "23456 *23456 *1" <<<"$out" || fail "unexpected uid map: $out"
typo=$(as_user sandbox --profile biuld true 2>&1 || true)
grep -q "did you mean build" <<<"$typo" || fail "no 'did you mean' for a profile typo: $typo"
doctor=$(sandbox doctor || true)
grep '^[A-Z]* *apparmor:' <<<"$doctor" || fail "doctor has no apparmor line: $doctor"
rm -rf "$home"

# Removal: nothing of the package may remain (purge also takes the conffile).
apt-get purge -y -qq sandbox >/dev/null
trap - EXIT
dpkg-query -W -f='${Status}' sandbox 2>/dev/null | grep -q "installed" && fail "still installed"
for p in "${installed[@]}"; do [ -e "$p" ] && fail "$p left behind after purge"; done
[ -e /etc/apparmor.d/sandbox ] && fail "/etc/apparmor.d/sandbox left behind"
[ -d /usr/share/sandbox ] && fail "/usr/share/sandbox left behind"

# -DSANDBOX_INSTALL_BWRAP_LINK=ON: BINDIR/bwrap -> sandbox, serving bwrap's callers.
stage=$(mktemp -d)
cmake -S . -B "$dir" -DSANDBOX_INSTALL_BWRAP_LINK=ON >/dev/null
DESTDIR="$stage" cmake --install "$dir" >/dev/null
cmake -S . -B "$dir" -DSANDBOX_INSTALL_BWRAP_LINK=OFF >/dev/null
[ "$(readlink "$stage/usr/bin/bwrap")" = sandbox ] || fail "no bwrap -> sandbox link with the option"
"$stage/usr/bin/bwrap" --version | grep -q "^bubblewrap " || fail "the bwrap link does not answer as bwrap (bubblewrap X.Y.Z first)"
rm -rf "$stage"
echo "package-test: OK (${#installed[@]} files installed and removed, $(( $(date +%s) - start )) s)"
