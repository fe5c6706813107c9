#!/bin/sh
# Cgroup v2 scenarios, run by the VM's init as root; every sandbox runs as uid 1000.
# Prints PASS/FAIL lines that tests/vm/run.sh collects.
cg=/sys/fs/cgroup
R="--ro-bind / / --proc /proc --dev /dev"
echo "+memory +pids +cpu" > $cg/cgroup.subtree_control
# deleg: delegated to uid 1000 as systemd does for Delegate=yes; notdeleg: root's.
for d in deleg busy; do
  mkdir $cg/$d
  chown 1000:1000 $cg/$d $cg/$d/cgroup.procs $cg/$d/cgroup.subtree_control $cg/$d/cgroup.threads
done
mkdir $cg/notdeleg

# as_user_in CGROUP CMD...: CMD as uid 1000 in CGROUP, as a shell in a systemd scope would
# run it; once a sandbox has enabled controllers there, the shell lives in
# CGROUP/sandbox-caller, where that sandbox moved it.
as_user_in() {
  sh -c '{ echo $$ > "$0/cgroup.procs" || echo $$ > "$0/sandbox-caller/cgroup.procs"; } 2>/dev/null &&
         exec nsenter -S 1000 -G 1000 -- "$@"' "$@"
}
result() {  # NAME CONDITION-STATUS DETAIL
  if [ "$2" = 0 ]; then echo "PASS $1"; else echo "FAIL $1: $3" | tr '\n' ' '; echo; fi
}

# The user's shell in the scope (it must move aside to sandbox-caller and keep running).
sh -c 'echo $$ > /sys/fs/cgroup/deleg/cgroup.procs; exec nsenter -S 1000 -G 1000 -- sleep 1000.77' &
shell=$!
sleep 0.2

# A hog allocating 64 MiB (dd's buffer, filled from /dev/zero) under 32M is OOM-killed.
out=$(as_user_in $cg/deleg sandbox $R --memory 32M -- dd if=/dev/zero of=/dev/null bs=64M count=1 2>&1)
rc=$?
[ $rc = 137 ] && echo "$out" | grep -q "sandbox: killed: memory limit 32M reached"
result memory-oom-reported $? "rc=$rc $out"

# A fork loop stops at pids.max and is reported.
out=$(as_user_in $cg/deleg sandbox $R --pids 10 -- sh -c 'i=0; while [ $i -lt 50 ]; do sleep 5 & i=$((i+1)); done; echo started=$i' 2>&1)
echo "$out" | grep -q "pids limit 10 reached" && ! echo "$out" | grep -q started=50
result pids-contained $? "$out"

# The limits are in the leaf's files, and a busy loop is throttled by cpu.max.
out=$(as_user_in $cg/deleg sandbox $R --memory 48M --pids 20 --cpus 0.1 -- sh -c '
  leaf=/sys/fs/cgroup$(sed -n "s/^0:://p" /proc/self/cgroup)
  echo leaf=$leaf
  echo memory=$(cat $leaf/memory.max) swap=$(cat $leaf/memory.swap.max) pids=$(cat $leaf/pids.max)
  echo cpu=$(cat $leaf/cpu.max | tr " " _)
  timeout 2 sh -c "while :; do :; done"
  grep nr_throttled $leaf/cpu.stat' 2>&1)
echo "INFO $(echo "$out" | tr '\n' ' ')"
echo "$out" | grep -q "^leaf=/sys/fs/cgroup/deleg/sandbox-[0-9]*$" &&
  echo "$out" | grep -q "memory=50331648 swap=0 pids=20" &&
  echo "$out" | grep -q "cpu=10000_100000" &&
  echo "$out" | grep -q "nr_throttled [1-9]"
result limits-written-and-cpu-throttled $? "$out"

# Born in the leaf (CLONE_INTO_CGROUP), a new cgroup namespace is rooted there.
out=$(as_user_in $cg/deleg sandbox $R --pids 20 --unshare-cgroup -- cat /proc/self/cgroup 2>&1)
[ "$out" = "0::/" ]
result cgroupns-rooted-at-leaf $? "$out"

# --timeout as uid 1000 inside a cgroup: the whole tree, exit 124.
out=$(as_user_in $cg/deleg sandbox $R --pids 20 --timeout 1s -- sh -c 'sleep 100 & sleep 100' 2>&1)
rc=$?
[ $rc = 124 ] && echo "$out" | grep -q "killed: timed out after 1s"
result timeout $? "rc=$rc $out"

# Leaves are gone; the user's shell lives on in sandbox-caller.
left=$(ls $cg/deleg | grep '^sandbox-[0-9]')
[ -z "$left" ] && grep -qx "$shell" $cg/deleg/sandbox-caller/cgroup.procs && kill -0 $shell
result leaves-removed-shell-moved-aside $? "left=$left: $(ls $cg/deleg); caller leaf: $(cat $cg/deleg/sandbox-caller/cgroup.procs)"

# A SIGKILLed supervisor leaves its leaf and command; the next sandbox removes both.
as_user_in $cg/deleg sandbox $R --pids 20 -- sleep 1000.4242 &
job=$!
i=0; while [ $i -lt 100 ] && ! ps | grep -q "user *sleep 1000.4242"; do sleep 0.1; i=$((i+1)); done
stale=$(ls -d $cg/deleg/sandbox-[0-9]* 2>/dev/null)
spid=${stale##*-}
[ -n "$spid" ] && kill -9 $spid
wait $job
as_user_in $cg/deleg sandbox $R --pids 20 -- true
sleep 0.2
[ -n "$stale" ] && [ ! -e "$stale" ] && ! ps | grep -q "user *sleep 1000.4242"
result stale-leaf-removed $? "stale=$stale now: $(ls $cg/deleg) $(ps | grep 1000.4242)"

# Required: a cgroup that is not delegated fails before anything runs, saying why and how.
out=$(as_user_in $cg/notdeleg sandbox $R --memory 32M -- touch /tmp/ran 2>&1)
rc=$?
[ $rc = 1 ] && [ ! -e /tmp/ran ] && echo "$out" | grep -q "not delegated to uid 1000" &&
  echo "$out" | grep -q "systemd-run --user --scope -p Delegate=yes"
result required-not-delegated $? "rc=$rc $out"

# A controller the cgroup above did not enable (io) is named.
out=$(as_user_in $cg/deleg sandbox $R --io-weight 50 -- true 2>&1)
rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "io controller is not enabled for /sys/fs/cgroup/deleg"
result required-controller-not-enabled $? "rc=$rc $out"

# Other processes in the cgroup: controllers cannot be enabled (no internal processes).
sh -c 'echo $$ > /sys/fs/cgroup/busy/cgroup.procs; exec sleep 30' &  # root's
busy=$!
sleep 0.2
out=$(as_user_in $cg/busy sandbox $R --memory 32M -- true 2>&1)
rc=$?
kill $busy
[ $rc = 1 ] && echo "$out" | grep -q "holds other processes (1 not owned by uid 1000)"
result required-internal-processes $? "rc=$rc $out"

# Best effort: warns, runs, and --pids becomes RLIMIT_NPROC.
out=$(as_user_in $cg/notdeleg sandbox $R --limits best-effort --memory 32M --pids 15 -- sh -c 'ulimit -u' 2>&1)
rc=$?
[ $rc = 0 ] && echo "$out" | grep -q "can't be enforced" && echo "$out" | grep -q "RLIMIT_NPROC=15" &&
  echo "$out" | grep -q "^15$"
result best-effort $? "rc=$rc $out"
