#!/bin/bash
# The delegated cgroup v2 path, in a real kernel: boots Debian's kernel under qemu (TCG)
# with an initramfs holding busybox, the sandbox binary and its libraries; the VM's init
# mounts cgroup2, delegates a subtree to uid 1000 and runs tests/vm/scenarios.sh.
#
# usage: run.sh SANDBOX_BINARY
# Exit 0: every scenario passed; 1: one failed; 77 (CTest skip): qemu, busybox or the
# kernel (tests/vm/fetch-kernel.sh, run by scripts/deps.sh) is missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$(realpath "$1")"
skip() { echo "SKIP: $*"; exit 77; }
qemu=$(command -v qemu-system-x86_64 || true)
[ -n "$qemu" ] || skip "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
busybox=""
for b in /bin/busybox /usr/bin/busybox; do
  if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then busybox=$b; break; fi  # static only
done
[ -n "$busybox" ] || skip "a static busybox is not installed (apt-get install busybox-static)"
cache="${SANDBOX_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sandbox-vm}"
kernel="${SANDBOX_VM_KERNEL:-$(ls "$cache"/vmlinuz-* 2>/dev/null | head -1 || true)}"
[ -n "$kernel" ] && [ -r "$kernel" ] || skip "no kernel in $cache (run tests/vm/fetch-kernel.sh)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,etc,newroot,test}
cp "$busybox" "$root/bin/busybox"
for a in $("$busybox" --list); do
  [ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"
done
# The binary and the shared libraries it needs, at the same paths.
cp "$bin" "$root/bin/sandbox"
for lib in $(ldd "$bin" | awk '/=>/ {print $3} /^\t\/[^ ]*ld-linux/ {print $1}'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
printf 'root:x:0:0::/:/bin/sh\nuser:x:1000:1000::/tmp:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\nuser:x:1000:\n' > "$root/etc/group"
cp "$here/init.sh" "$root/init"
cp "$here/scenarios.sh" "$root/test/scenarios.sh"
chmod 755 "$root/init" "$root/test/scenarios.sh"
(cd "$root" && find . | "$busybox" cpio -o -H newc 2>/dev/null | gzip -1) > "$work/initrd.gz"

accel=tcg
# KVM is opt-in (SANDBOX_VM_KVM=1): nested KVM can be present yet stall.
[ "${SANDBOX_VM_KVM:-0}" = 1 ] && [ -w /dev/kvm ] && accel=kvm
out="$work/console.log"
timeout "${SANDBOX_VM_TIMEOUT:-240}" "$qemu" -machine pc,accel=$accel -smp 2 -m 768 -nographic -no-reboot \
  -kernel "$kernel" -initrd "$work/initrd.gz" -nic none \
  -append "console=ttyS0 panic=-1 quiet loglevel=3" </dev/null >"$out" 2>&1 || true
# The console starts with the firmware's terminal escapes: match anywhere in a line.
grep -aoE '(PASS|FAIL|INFO) [a-z0-9-]+.*' "$out" > "$work/results" || true
cat "$work/results"
[ -n "${SANDBOX_VM_LOG:-}" ] && cp "$out" "$SANDBOX_VM_LOG"
if ! grep -aq 'VM-TESTS-DONE' "$out"; then
  echo "The VM did not finish the scenarios; console:" >&2
  tail -40 "$out" >&2
  exit 1
fi
if grep -q '^FAIL' "$work/results"; then exit 1; fi
[ "$(grep -c '^PASS' "$work/results")" -ge 11 ] || { echo "not every scenario ran" >&2; exit 1; }
exit 0
