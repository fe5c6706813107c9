#!/bin/sh
# Pid 1 of the test VM. The initramfs root cannot be pivoted away from, so the files are
# copied to a tmpfs and switch_root makes that the root the sandbox can leave.
if [ "$1" != stage2 ]; then
  mount -t proc proc /proc
  mount -t tmpfs -o mode=755 tmpfs /newroot
  for d in bin sbin usr lib lib64 etc test init; do
    [ -e /$d ] && cp -a /$d /newroot/
  done
  mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/tmp
  umount /proc
  exec switch_root /newroot /init stage2
fi
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
/test/scenarios.sh
echo VM-TESTS-DONE
poweroff -f
