#!/bin/bash
# Boots Debian's kernel under qemu (TCG: no KVM needed) with an initramfs of busybox,
# sandbox, its libraries and the scenarios, and prints the scenario result lines
# (PASS/FAIL name detail) that the VM writes to its second serial port.
#
#   tests/vm/run-vm.sh WORKDIR SANDBOX_BIN VMTOOL_BIN
#
# WORKDIR holds the kernel cache (WORKDIR/cache: the kernel .deb is downloaded with
# `apt-get download` once and only vmlinuz is kept), the initramfs and the logs
# (console.log: kernel and scenario output; results.log). SANDBOX_VM_KERNEL=/path/vmlinuz
# uses that kernel instead. Exit status: 0 when the VM ran to the end (the lines say which
# scenarios passed), 77 with "SKIP: reason" when something it needs is missing (1 under
# CI=true: CI must run it), else 1.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 3 ] || { echo "usage: $0 WORKDIR SANDBOX_BIN VMTOOL_BIN" >&2; exit 2; }
work=$1 sandbox_bin=$2 vmtool_bin=$3
# CI exists to prove the cgroup v2 limits: there (CI=true) what would be a skip is a failure.
skip() {
  if [ "${CI:-}" = true ]; then echo "ERROR: CI=true, and the VM test can't run: $*" >&2; exit 1; fi
  echo "SKIP: $*"
  exit 77
}
die() { echo "ERROR: $*" >&2; exit 1; }

qemu=$(command -v qemu-system-x86_64) || skip "qemu-system-x86_64 is not installed (package qemu-system-x86)"
busybox=""
for b in /bin/busybox /usr/bin/busybox; do
  # A static busybox: the initramfs has no libraries for it.
  if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then busybox=$b; break; fi
done
[ -n "$busybox" ] || skip "no static busybox (package busybox-static)"
[ -x "$sandbox_bin" ] || die "no sandbox binary at $sandbox_bin"
[ -x "$vmtool_bin" ] || die "no vmtool binary at $vmtool_bin"
mkdir -p "$work/cache" || die "can't create $work"

# ---- Kernel: Debian's linux-image-amd64, downloaded, extracted, not installed ----------------
kernel=${SANDBOX_VM_KERNEL:-}
if [ -z "$kernel" ]; then
  kernel=$work/cache/vmlinuz
  if [ ! -s "$kernel" ]; then
    command -v apt-get >/dev/null || skip "no apt-get to download the kernel (set SANDBOX_VM_KERNEL)"
    dl=$work/cache/download
    rm -rf "$dl" && mkdir -p "$dl"
    # The metapackage names the current kernel package; both are downloaded into $dl.
    (cd "$dl" && apt-get download -q linux-image-amd64) >"$work/cache/apt.log" 2>&1 ||
      skip "can't download linux-image-amd64 (no network or no apt lists: apt-get update): $(tail -n1 "$work/cache/apt.log")"
    meta=$(ls "$dl"/linux-image-amd64_*.deb)
    pkg=$(dpkg-deb -f "$meta" Depends | tr ',' '\n' | sed -n 's/^ *\(linux-image-[0-9][^ ]*\).*/\1/p' | head -n1)
    [ -n "$pkg" ] || die "can't tell the kernel package from $meta's Depends"
    (cd "$dl" && apt-get download -q "$pkg") >>"$work/cache/apt.log" 2>&1 ||
      skip "can't download $pkg: $(tail -n1 "$work/cache/apt.log")"
    mkdir -p "$dl/x"
    dpkg-deb --fsys-tarfile "$dl/$pkg"_*.deb | tar -x -C "$dl/x" --wildcards './boot/vmlinuz-*' ||
      die "can't extract vmlinuz from $pkg"
    mv "$dl"/x/boot/vmlinuz-* "$kernel.tmp" && mv "$kernel.tmp" "$kernel"
    echo "$pkg" > "$work/cache/kernel-package"
    rm -rf "$dl"
  fi
fi
[ -s "$kernel" ] || skip "no kernel at $kernel"

# ---- Initramfs ---------------------------------------------------------------------------------
root=$work/initramfs
rm -rf "$root" && mkdir -p "$root"/{bin,etc,vm,tmp} || die "can't create $root"
cp "$busybox" "$root/bin/busybox"
cp "$sandbox_bin" "$root/bin/sandbox"
cp "$vmtool_bin" "$root/bin/vmtool"
# The libraries sandbox links and the ELF interpreter, at the paths ldd names.
for lib in $(ldd "$sandbox_bin" | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib" || die "can't copy $lib"
done
cp "$here/init.sh" "$root/init" && chmod 0755 "$root/init"
cp "$here/scenarios.sh" "$root/vm/scenarios.sh"
printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/tmp:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\nuser:x:1000:\n' > "$root/etc/group"
# Owned by root inside, whoever builds it.
(cd "$root" && find . | "$busybox" cpio -o -H newc -R 0:0 2>/dev/null) > "$work/initramfs.cpio" ||
  die "can't build the initramfs"

# ---- Boot --------------------------------------------------------------------------------------
rm -f "$work/console.log" "$work/results.log"
start=$(date +%s.%N)
# TCG, one vCPU; the VM powers itself off; a panic or a hang ends by -no-reboot / timeout.
timeout --kill-after=10 "${SANDBOX_VM_TIMEOUT:-420}" "$qemu" \
  -machine pc -accel tcg -cpu max -smp 1 -m 512M \
  -kernel "$kernel" -initrd "$work/initramfs.cpio" \
  -append "console=ttyS0 rdinit=/init panic=-1 loglevel=4 oops=panic" \
  -display none -monitor none -no-reboot -nodefaults \
  -serial "file:$work/console.log" -serial "file:$work/results.log" </dev/null
rc=$?
end=$(date +%s.%N)
echo "VM: qemu exit $rc after $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s" \
  "(kernel $(cat "$work/cache/kernel-package" 2>/dev/null || echo "$kernel"))"
tr -d '\r' < "$work/results.log" 2>/dev/null
[ $rc -eq 124 ] && echo "ERROR: the VM did not power off in time; see $work/console.log" >&2
exit $(( rc == 0 ? 0 : 1 ))
