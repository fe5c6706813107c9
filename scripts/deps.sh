#!/bin/bash
# Installs the Debian packages sandbox needs to build and test, when any is missing.
set -euo pipefail
PKGS=(g++ cmake make pkg-config libcap-ng-dev libseccomp-dev nlohmann-json3-dev libgtest-dev libgmock-dev
      scdoc util-linux procps python3 iproute2
      passt slirp4netns nftables  # networking: --net pasta, slirp4netns, veth (and their tests)
      qemu-system-x86 busybox-static)  # the cgroup v2 VM test (tests/vm)
# bwrap: the security tests run each attack against Debian's bubblewrap too, as a control.
PKGS+=(bubblewrap)
# The completion tests check the zsh and fish scripts with the shells themselves.
PKGS+=(zsh fish)
# strace: bwrap_compat_test injects a failing prctl (the bounding-set drop must fail closed).
PKGS+=(strace)
# uidmap: newuidmap/newgidmap write the OCI runtime's multi-range id maps for an unprivileged caller.
PKGS+=(uidmap)
# apparmor: apparmor_parser checks the AppArmor profile we ship (apparmor/sandbox.in);
# dpkg-dev: dpkg-shlibdeps for the .deb's Depends (scripts/package-test.sh).
PKGS+=(apparmor dpkg-dev)
# clang + libclang-rt-dev: the libFuzzer targets (scripts/fuzz.sh).
PKGS+=(clang libclang-rt-dev)
# podman drives sandbox-runc in tests/integration/podman_test.cpp, as root and rootless:
# uidmap (above) for its user namespace, catatonit for its pause process.
PKGS+=(podman catatonit)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# (Debian's kernel for the VM test is downloaded by tests/vm/run-vm.sh into the build dir.)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "Installing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "Please install as root: apt-get install ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
