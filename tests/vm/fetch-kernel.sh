#!/bin/bash
# Downloads Debian's kernel package (linux-image-amd64's current image) with apt-get and
# extracts its vmlinuz into the cache directory, without installing it. Used by
# scripts/deps.sh for the cgroup v2 VM test (tests/vm/run.sh). Prints the vmlinuz path.
set -euo pipefail
cache="${SANDBOX_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sandbox-vm}"
mkdir -p "$cache"
if ls "$cache"/vmlinuz-* >/dev/null 2>&1; then ls "$cache"/vmlinuz-* | head -1; exit 0; fi
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}')
[ -n "$pkg" ] || { echo "fetch-kernel: no linux-image-amd64 in the apt sources" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 777 "$tmp"  # apt's download user must be able to write here
(cd "$tmp" && apt-get download -qq "$pkg" >/dev/null 2>&1)
dpkg-deb --fsys-tarfile "$tmp"/"$pkg"_*.deb | tar -x -C "$tmp" --wildcards './boot/vmlinuz-*'
cp "$tmp"/boot/vmlinuz-* "$cache"/
ls "$cache"/vmlinuz-* | head -1
