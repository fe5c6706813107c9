#!/bin/bash
# Installs the Debian packages sandbox needs to build and test, when any is missing.
set -euo pipefail
PKGS=(g++ cmake make pkg-config libcap-ng-dev libseccomp-dev nlohmann-json3-dev libgtest-dev libgmock-dev
      scdoc util-linux procps python3 iproute2
      qemu-system-x86 busybox-static)  # the last two: the cgroup v2 VM test (tests/vm)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "Please install as root: apt-get install ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
