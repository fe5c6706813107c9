#!/bin/busybox sh
# PID 1 of the test VM (tests/vm/run-vm.sh builds the initramfs around it).
#
# Stage 1 (in the initramfs): copies itself to a tmpfs and switches root to it, because
# pivot_root(2), which sandbox uses, refuses to move the initramfs (rootfs) away.
# Stage 2: mounts proc, sys, dev and a full cgroup2 hierarchy (memory, pids, cpu, io),
# delegates user.slice/user@1000.service to uid 1000 as systemd does for a user manager,
# runs the scenarios (tests/vm/scenarios.sh) and powers off. Scenario results go to the
# second serial port (ttyS1), so that kernel messages on the console never split them.
export PATH=/bin
if [ "$1" != stage2 ]; then
  /bin/busybox mkdir -p /proc /newroot
  /bin/busybox --install -s /bin
  mount -t tmpfs -o mode=0755 root /newroot
  for e in /*; do
    case "$e" in /newroot|/proc|/sys|/dev) continue ;; esac
    cp -a "$e" /newroot/
  done
  mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/tmp
  chmod 1777 /newroot/tmp
  exec switch_root /newroot /init stage2
  echo "FATAL switch_root failed" > /dev/console
  poweroff -f
fi

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o mode=0620,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
# As systemd mounts it.
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup
hostname vm

results=/dev/ttyS1
[ -c "$results" ] || results=/dev/console
stty -F "$results" raw -echo 2>/dev/null
echo "BOOTED $(cut -d' ' -f1 /proc/uptime)" > "$results"

sh /vm/scenarios.sh "$results" 2>&1
echo "DONE $(cut -d' ' -f1 /proc/uptime)" > "$results"
sync
poweroff -f
