#!/bin/sh
# The cgroup v2 scenarios, run by the test VM's init (tests/vm/init.sh) as root; every
# sandbox runs as uid 1000 in a cgroup delegated to it the way systemd delegates
# user@1000.service and `systemd-run --user --scope -p Delegate=yes` scopes.
#
# Each scenario writes one line to $1 (the results port):
#   PASS <name> <detail>      FAIL <name> <what did not hold> | <stderr of the last run>
# tests/vm/vm_test.cpp turns each expected name into an assertion. Everything else
# (the runs' output) goes to the console log for debugging.
RESULTS=${1:-/dev/console}
CG=/sys/fs/cgroup
ALL="+memory +pids +cpu +io"
D=$CG/user.slice/user@1000.service   # delegated to uid 1000
USER_RUN="vmtool runas 1000 1000"
T=/tmp/run
mkdir -p $T && chmod 0777 $T

# ---- Reporting -----------------------------------------------------------------------------
one_line() { printf '%s' "$*" | tr '\n' '|' | cut -c1-600; }
begin() { name=$1; why=; echo "=== $name"; }
# need DESCRIPTION COMMAND...: the scenario fails with DESCRIPTION unless COMMAND succeeds.
need() {
  d=$1; shift
  "$@" || why="$why${why:+; }$d"
}
end() {
  if [ -z "$why" ]; then
    echo "PASS $name $(one_line "$*")" > "$RESULTS"
  else
    echo "FAIL $name $(one_line "$why") | stderr: $(one_line "$err")" > "$RESULTS"
  fi
}
has() { case "$1" in *"$2"*) return 0 ;; esac; return 1; }
lacks() { ! has "$@"; }
eq() { [ "$1" = "$2" ]; }
# gone PATH: PATH is set and does not exist (an empty PATH means it was never found).
gone() { [ -n "$1" ] && [ ! -e "$1" ]; }

# ---- Running -------------------------------------------------------------------------------
# in_cgroup DIR CMD...: CMD in cgroup DIR (as root, as systemd places a unit's process).
in_cgroup() { sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$@"; }
# user CMD...: CMD as uid 1000 in its user manager's cgroup (init.scope).
user() { in_cgroup $D/init.scope $USER_RUN "$@"; }
# collect: the outputs of the last run in $out, $err, $js (last --json-status-fd line).
collect() {
  rc=$1
  out=$(cat $T/out); err=$(cat $T/err); js=$(tail -n1 $T/status 2>/dev/null)
  echo "rc=$rc"; echo "out: $out"; echo "err: $err"; echo "status: $js"
}
# sb SCOPE SANDBOX-ARGS...: sandbox as uid 1000 in a new scope $D/SCOPE.scope that holds
# nothing else (as `systemd-run --user --scope -p Delegate=yes sandbox ...`), with
# --json-status-fd 5 to $T/status. Sets rc, out, err, js.
sb() {
  s=$D/$1.scope; shift
  rm -f $T/status
  user sh -c 'mkdir "$0" && echo $$ > "$0/cgroup.procs" && exec sandbox --json-status-fd 5 "$@"' \
    "$s" "$@" > $T/out 2> $T/err 5> $T/status
  collect $?
}
# sb_in DIR SANDBOX-ARGS...: sandbox as uid 1000 started from cgroup DIR (root places it).
sb_in() {
  dir=$1; shift
  rm -f $T/status
  in_cgroup "$dir" $USER_RUN sandbox --json-status-fd 5 "$@" > $T/out 2> $T/err 5> $T/status
  collect $?
}
# The cgroup the command ran in, from its "0::/path" line in $out.
cg_of_run() { printf '%s\n' "$out" | sed -n 's/^0::\(.*\)/\1/p' | head -n1; }
RO="--ro-bind / /"
# The command's cgroup namespace is rooted at its own cgroup (sandbox-<pid>/command), so
# /proc/self/cgroup says "0::/"; the real path is found from the host's hierarchy, bound
# read-only by $RO: the cgroup.procs that lists the command.
OWN_CG='for f in $(find /sys/fs/cgroup -name cgroup.procs); do grep -qx $$ $f && dirname $f; done'
# The sandbox-<pid> leaves in DIR (not sandbox-caller, where the caller's own processes
# moved so that the controllers could be enabled, and which stays).
leaves_in() { (cd "$1" 2>/dev/null && ls -d sandbox-* 2>/dev/null | grep -v -x -e sandbox-caller | tr '\n' ' '); }
SHOW_CG='echo "0::$(d=$('"$OWN_CG"'); echo ${d#/sys/fs/cgroup})"'

# ---- Host setup (root) ---------------------------------------------------------------------
begin setup
need "enable controllers at the root" sh -c "echo '$ALL' > $CG/cgroup.subtree_control"
need "create user.slice and system.slice" mkdir $CG/user.slice $CG/system.slice
need "enable controllers in user.slice" sh -c "echo '$ALL' > $CG/user.slice/cgroup.subtree_control"
need "enable controllers in system.slice" sh -c "echo '$ALL' > $CG/system.slice/cgroup.subtree_control"
# Delegate=yes: the cgroup and the files that let its owner manage the subtree.
need "create $D" mkdir $D
need "chown $D" chown 1000:1000 $D $D/cgroup.procs $D/cgroup.subtree_control $D/cgroup.threads
# The user manager, placed in user@1000.service by root, moves itself to init.scope,
# enables the controllers for its units and stays (a sleep stands in for it), as uid 1000.
in_cgroup $D $USER_RUN sh -c "mkdir $D/init.scope && echo \$\$ > $D/init.scope/cgroup.procs &&
  echo '$ALL' > $D/cgroup.subtree_control && exec sleep 100000" &
i=0
until grep -q memory $D/cgroup.subtree_control || [ $i -ge 50 ]; do sleep 0.1; i=$((i+1)); done
need "user manager setup" grep -q memory $D/cgroup.subtree_control
need "user manager in init.scope" grep -q . $D/init.scope/cgroup.procs
err=
end "controllers: $(cat $CG/cgroup.controllers); delegated: $(cat $D/cgroup.subtree_control); kernel $(uname -r)"

# ---- Scenarios (uid 1000) ------------------------------------------------------------------

begin required_succeeds
sb required --limits required --memory 64M --pids 50 --cpus 1 --cpu-weight 50 --io-weight 200 $RO -- \
  sh -c "$SHOW_CG"
need "exit 0 (got $rc)" eq "$rc" 0
need "no diagnostics" eq "$err" ""
need "json status { \"exit-code\": 0 }" eq "$js" '{ "exit-code": 0 }'
end "cgroup=$(cg_of_run)"

begin limits_written
cmd='cd $('"$OWN_CG"')/.. && for f in memory.max memory.swap.max pids.max cpu.max cpu.weight io.weight; do echo "$f=$(head -n1 $f)"; done'
sb written --memory 48M --pids 40 --cpus 0.5 --cpu-weight 50 --io-weight 200 $RO -- sh -c "$cmd"
need "exit 0 (got $rc)" eq "$rc" 0
need "memory.max=50331648" has "$out" "memory.max=50331648"
need "memory.swap.max=0" has "$out" "memory.swap.max=0"
need "pids.max=40" has "$out" "pids.max=40"
need "cpu.max=50000 100000" has "$out" "cpu.max=50000 100000"
need "cpu.weight=50" has "$out" "cpu.weight=50"
need "io.weight=default 200" has "$out" "io.weight=default 200"
written=$out
sb written-swap --memory 48M --memory-swap 16M $RO -- sh -c "$cmd"
need "memory.swap.max=16777216 with --memory-swap 16M" has "$out" "memory.swap.max=16777216"
end "$(printf '%s' "$written" | tr '\n' ' ')"

begin memory_oom_reported
sb oom --memory 32M $RO -- vmtool hog 200
need "exit status 137 (got $rc)" eq "$rc" 137
need "the hog did not survive" lacks "$out" survived
need "'sandbox: killed: memory limit 32M reached'" has "$err" "sandbox: killed: memory limit 32M reached"
need "json limit fields (got $js)" eq "$js" '{ "exit-code": 137, "limit": "memory", "limit-value": "32M" }'
end "rc=$rc $(one_line "$err")"

begin memory_oom_of_a_child
# The hog is not the sandbox's main process: the command goes on, the report still says why.
sb oomchild --memory 32M $RO -- sh -c 'vmtool hog 200; echo "hog=$?"'
need "exit 0 (got $rc)" eq "$rc" 0
need "the hog was SIGKILLed (out: $(one_line "$out"))" has "$out" "hog=137"
need "'memory limit 32M reached: the kernel killed 1 process(es)'" has "$err" "sandbox: memory limit 32M reached: the kernel killed 1 process(es)"
need "json limit fields (got $js)" eq "$js" '{ "exit-code": 0, "limit": "memory", "limit-value": "32M" }'
end "$(one_line "$err")"

begin memory_oom_unshare_all
# With a PID namespace (and every other namespace) the sandbox's init outlives the hog.
sb oomall --unshare-all --memory 32M $RO -- vmtool hog 200
need "exit status 137 (got $rc)" eq "$rc" 137
need "'killed: memory limit 32M reached'" has "$err" "sandbox: killed: memory limit 32M reached"
need "json limit fields (got $js)" eq "$js" '{ "exit-code": 137, "limit": "memory", "limit-value": "32M" }'
end "rc=$rc"

begin memory_fits
sb fits --memory 128M $RO -- vmtool hog 48
need "exit 0 (got $rc)" eq "$rc" 0
need "the allocation survived" has "$out" survived
need "no limit reported" lacks "$err" limit
end "48 MiB under --memory 128M"

begin pids_limit
sb pids --pids 20 $RO -- vmtool forks 200
forked=$(printf '%s' "$out" | sed -n 's/.*forked=\([0-9]*\).*/\1/p')
need "forks counted (out: $out)" [ -n "$forked" ]
need "fewer than 20 forks (got $forked)" [ "${forked:-999}" -lt 20 ]
need "at least 10 forks (got $forked)" [ "${forked:-0}" -ge 10 ]
need "fork failed with EAGAIN" has "$out" "errno=11"
need "'pids limit 20 reached'" has "$err" "sandbox: pids limit 20 reached"
need "json limit fields (got $js)" eq "$js" '{ "exit-code": 0, "limit": "pids", "limit-value": "20" }'
end "forked=$forked $(one_line "$err")"

begin fork_bomb_contained
t0=$(cut -d' ' -f1 /proc/uptime)
sb bomb --pids 32 --unshare-pid --timeout 60s $RO --dev /dev -- sh -c 'b() { b | b & }; b; sleep 2; echo done'
t1=$(cut -d' ' -f1 /proc/uptime)
need "ended before --timeout (rc $rc)" [ "$rc" != 124 ]
need "the shell got to the end" has "$out" done
need "'pids limit 32 reached'" has "$err" "pids limit 32 reached"
need "its leaf is gone (left: $(leaves_in $D/bomb.scope))" eq "$(leaves_in $D/bomb.scope)" ""
end "took $(echo "$t1 $t0" | awk '{printf "%.1f", $1-$2}')s rc=$rc"

begin cpu_quota
spin='vmtool spin 2; cat $('"$OWN_CG"')/../cpu.stat'
sb cpu --cpus 0.2 $RO -- sh -c "$spin"
cpu=$(printf '%s\n' "$out" | sed -n 's/^cpu=//p')
thr=$(printf '%s\n' "$out" | sed -n 's/^nr_throttled //p')
need "exit 0 (got $rc)" eq "$rc" 0
need "cpu time reported (out: $(one_line "$out"))" [ -n "$cpu" ]
need "at most 0.7 s CPU in 2 s under --cpus 0.2 (got $cpu)" awk "BEGIN { exit !(${cpu:-9} <= 0.7) }"
need "some CPU (got $cpu)" awk "BEGIN { exit !(${cpu:-0} >= 0.1) }"
need "throttled at least 5 periods (nr_throttled=$thr)" [ "${thr:-0}" -ge 5 ]
sb cpu-free $RO -- vmtool spin 1
free=$(printf '%s\n' "$out" | sed -n 's/^cpu=//p')
need "unlimited gets more per second than limited (free $free s/1 s, limited $cpu s/2 s)" \
  awk "BEGIN { exit !(${free:-0} > 1.5 * ${cpu:-9} / 2) }"
end "limited=${cpu}s/2s nr_throttled=$thr unlimited=${free}s/1s"

begin leaf_removed
sb leaf --memory 64M --pids 30 $RO -- sh -c "$SHOW_CG"
cg=$(cg_of_run)
need "exit 0 (got $rc)" eq "$rc" 0
need "ran in a leaf sandbox-<pid>/command of its scope (got $cg)" has "$cg" "/user.slice/user@1000.service/leaf.scope/sandbox-"
need "in the child cgroup command (got $cg)" has "$cg" "/command"
need "leaf $cg removed afterwards" gone "${cg:+$CG$cg}"
need "and the cgroup above it" gone "${cg:+$CG${cg%/command}}"
left=$(cd $D/leaf.scope && ls -d sandbox-* 2>/dev/null | tr '\n' ' ')
end "ran in $cg; left in the scope: ${left:-nothing}"

begin leftover_killed
# A process the command left behind (in the background, outside its wait) dies with the
# leaf (cgroup.kill), though it is no longer in the command's process tree.
sb leftover --memory 64M $RO --dev /dev -- \
  sh -c 'setsid sleep 1000 > /dev/null 2>&1 < /dev/null & sleep 0.5; kill -0 $! && echo "bg=$!"'
bg=$(printf '%s\n' "$out" | sed -n 's/^bg=//p')
need "exit 0 (got $rc)" eq "$rc" 0
need "the background process ran (out: $out)" [ -n "$bg" ]
need "the background process $bg is gone" gone "${bg:+/proc/$bg}"
end "background pid $bg"

begin unshare_cgroup_root
sb cgns --memory 64M --unshare-cgroup $RO -- cat /proc/self/cgroup
need "exit 0 (got $rc)" eq "$rc" 0
need "its cgroup is / (got $(one_line "$out"))" eq "$out" "0::/"
sb cgns2 --memory 64M $RO -- cat /proc/self/cgroup
need "also without --unshare-cgroup when limits apply (got $(one_line "$out"))" eq "$out" "0::/"
end "$(one_line "$out")"

# --cgroup-parent: a delegated cgroup with the controllers enabled and no processes of its own.
user mkdir $D/shared.slice
user sh -c "echo '$ALL' > $D/shared.slice/cgroup.subtree_control"

begin cgroup_parent
sb_in $D/init.scope --cgroup-parent /user.slice/user@1000.service/shared.slice --memory 64M $RO -- sh -c "$SHOW_CG"
cg=$(cg_of_run)
need "exit 0 (got $rc)" eq "$rc" 0
need "ran in shared.slice/sandbox-<pid> (got $cg)" has "$cg" "/user.slice/user@1000.service/shared.slice/sandbox-"
need "leaf removed" gone "${cg:+$CG$cg}"
sb_in $D/init.scope --cgroup-parent $D/shared.slice --pids 10 $RO -- sh -c "$SHOW_CG"
need "the mount path form works too (rc $rc, $(one_line "$out"))" has "$(cg_of_run)" "/shared.slice/sandbox-"
end "ran in $cg"

begin stale_leaf_cleanup
# A supervisor killed with SIGKILL leaves its leaf and command behind; the next sandbox
# with a leaf in the same cgroup kills them and removes the leaf.
# (sh -c directly: $! is then the pid that execs sandbox.)
sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' $D/init.scope $USER_RUN \
  sandbox --cgroup-parent $D/shared.slice --memory 64M $RO -- sleep 1000 > $T/bg.out 2> $T/bg.err &
bgpid=$!
leaf=$D/shared.slice/sandbox-$bgpid
i=0
while [ $i -lt 100 ] && ! grep -q . $leaf/command/cgroup.procs 2>/dev/null; do sleep 0.1; i=$((i+1)); done
need "the leaf $leaf held the command" grep -q . $leaf/command/cgroup.procs
kill -9 $bgpid; wait $bgpid 2>/dev/null
sleeper=$(cat $leaf/command/cgroup.procs 2>/dev/null)
need "the leaf and the command outlived the SIGKILLed supervisor" [ -n "$sleeper" ]
sb_in $D/init.scope --cgroup-parent $D/shared.slice --pids 10 $RO -- true
need "next sandbox ran (rc $rc)" eq "$rc" 0
need "stale leaf removed" [ ! -e $leaf ]
need "orphaned command $sleeper killed" gone "${sleeper:+/proc/$sleeper}"
end "killed supervisor $bgpid; orphan ${sleeper:-none}"

begin escape_through_bound_cgroupfs
# The command (uid 1000, which owns its cgroups) tries to raise the limits of the cgroup
# above its own and to move itself back to the scope it was started from, through the
# host's cgroup2 bound in by a writable bind of / (sandbox makes it read-only inside).
# Control: uid 1000 may write that cgroup.procs outside the sandbox.
user sh -c "echo \$\$ > $D/init.scope/cgroup.procs" && control=ok || control=failed
need "control: uid 1000 can write $D/init.scope/cgroup.procs (got $control)" eq "$control" ok
lift='d=$('"$OWN_CG"'); echo max > $d/../memory.max && echo raised; echo max > $d/../pids.max && echo raised;
  echo $$ > '"$D"'/init.scope/cgroup.procs && echo moved; vmtool hog 200'
sb lift --memory 32M --pids 20 --bind / / -- sh -c "$lift"
need "exit status 137 (got $rc)" eq "$rc" 137
need "no limit raised (out: $(one_line "$out"))" lacks "$out" raised
need "not moved out" lacks "$out" moved
need "the hog did not survive" lacks "$out" survived
need "read-only file system" has "$err" "Read-only file system"
end "$(one_line "$err")"

begin escape_through_own_mount
# Every capability in its user namespace: the command mounts cgroup2 itself. It sees only
# its own cgroup (no memory.max there, nothing above), and the limit holds.
sb ownmount --unshare-user --uid 0 --cap-add ALL --memory 32M --pids 20 --ro-bind /bin /bin \
  --tmpfs /tmp --dev /dev -- sh -c 'mkdir /tmp/c && mount -t cgroup2 none /tmp/c && echo "ls=$(ls /tmp/c | tr "\n" " ")";
  echo max > /tmp/c/memory.max && echo raised; echo $$ > /tmp/c/cgroup.procs && echo own-ok; vmtool hog 200'
need "mounted (out: $(one_line "$out"))" has "$out" "cgroup.procs"
need "no memory.max visible" lacks "$out" "memory.max"
need "no limit raised" lacks "$out" raised
need "control: its own cgroup.procs is writable" has "$out" own-ok
need "exit status 137 (got $rc)" eq "$rc" 137
end "$(one_line "$out")"

begin sys_admin_with_bound_cgroupfs_refused
# With CAP_SYS_ADMIN (in its user namespace) the command could remount the bound cgroup2
# writable: refused before anything runs.
sb refused --unshare-user --uid 0 --cap-add ALL --memory 32M $RO -- sh -c 'echo ran'
need "exit 1 (got $rc)" eq "$rc" 1
need "the command did not run" lacks "$out" ran
need "says why" has "$err" "keeps CAP_SYS_ADMIN"
end "$(one_line "$err")"

begin timeout_kills
sb timeout --unshare-pid --timeout 2s --memory 64M $RO -- sh -c 'sleep 100; echo not-killed'
need "exit status 124 (got $rc)" eq "$rc" 124
need "'killed: timed out after 2s'" has "$err" "sandbox: killed: timed out after 2s"
need "json limit fields (got $js)" eq "$js" '{ "exit-code": 124, "limit": "timeout", "limit-value": "2s" }'
need "the command was stopped" lacks "$out" not-killed
end "rc=$rc"

# ---- What cannot be enforced ---------------------------------------------------------------

begin caller_moved_aside
# Started from a delegated scope that holds another process of the same user (the shell of
# `systemd-run --user --scope -p Delegate=yes bash`): the caller's processes move to the
# sibling leaf sandbox-caller so the controllers can be enabled (no internal processes).
mkdir $D/own.scope && chown 1000:1000 $D/own.scope $D/own.scope/cgroup.procs \
  $D/own.scope/cgroup.subtree_control $D/own.scope/cgroup.threads
in_cgroup $D/own.scope $USER_RUN vmtool spin 30 > /dev/null 2>&1 &
shell=$!
sleep 0.5
sb_in $D/own.scope --memory 64M $RO -- sh -c "$SHOW_CG"
cg=$(cg_of_run)
need "exit 0 (got $rc; err: $(one_line "$err"))" eq "$rc" 0
need "ran in a leaf of own.scope (got $cg)" has "$cg" "/user.slice/user@1000.service/own.scope/sandbox-"
need "the shell moved to own.scope/sandbox-caller" [ -n "$(cat $D/own.scope/sandbox-caller/cgroup.procs)" ]
need "own.scope itself holds no process" [ -z "$(cat $D/own.scope/cgroup.procs)" ]
need "memory enabled below own.scope" has "$(cat $D/own.scope/cgroup.subtree_control)" memory
kill $(cat $D/own.scope/sandbox-caller/cgroup.procs) $shell 2>/dev/null; wait $shell 2>/dev/null
end "ran in $cg; the shell is in own.scope/sandbox-caller"

begin busy_cgroup_required
# A delegated cgroup that holds another user's process (root's here): it is not ours to
# move, so the controllers can't be enabled and --limits required refuses before running.
mkdir $D/busy.scope && chown 1000:1000 $D/busy.scope $D/busy.scope/cgroup.procs \
  $D/busy.scope/cgroup.subtree_control $D/busy.scope/cgroup.threads
in_cgroup $D/busy.scope vmtool spin 30 > /dev/null 2>&1 &
foreign=$!
sleep 0.5
sb_in $D/busy.scope --memory 64M $RO --bind $T $T -- touch $T/ran-busy
need "exit 1 (got $rc)" eq "$rc" 1
need "the command did not run" [ ! -e $T/ran-busy ]
need "names --memory and the reason" has "$err" "sandbox: --memory 64M can't be enforced"
need "says no internal processes" has "$err" "no-internal-processes"
need "says how to fix it" has "$err" "no systemd user manager runs for you here"
need "root's process was not moved" [ -n "$(cat $D/busy.scope/cgroup.procs)" ]
need "nothing was made in busy.scope" [ -z "$(ls -d $D/busy.scope/sandbox-* 2>/dev/null)" ]
kill $(cat $D/busy.scope/cgroup.procs) $foreign 2>/dev/null; wait $foreign 2>/dev/null
end "$(one_line "$err")"

begin controller_not_delegated
# A delegated cgroup whose parent enables only pids: --memory can't be had there.
user sh -c "mkdir $D/pidsonly.slice && echo +pids > $D/pidsonly.slice/cgroup.subtree_control"
sb pidsonly.slice/run --memory 64M --pids 10 $RO -- true
need "exit 1 (got $rc)" eq "$rc" 1
need "names --memory" has "$err" "--memory 64M can't be enforced"
need "says the controller is not enabled" has "$err" "memory controller is not enabled"
need "does not complain about --pids" lacks "$err" "--pids 10 can't"
end "$(one_line "$err")"

mkdir $CG/system.slice/root-owned.scope
begin not_delegated_required
sb_in $CG/system.slice/root-owned.scope --memory 64M $RO --bind $T $T -- touch $T/ran-nodeleg
need "exit 1 (got $rc)" eq "$rc" 1
need "the command did not run" [ ! -e $T/ran-nodeleg ]
need "names --memory" has "$err" "sandbox: --memory 64M can't be enforced"
need "says not delegated to uid 1000" has "$err" "not delegated to uid 1000"
need "says how to fix it" has "$err" "no systemd user manager runs for you here"
need "one line" eq "$(printf '%s\n' "$err" | wc -l)" 1
end "$(one_line "$err")"

begin not_delegated_best_effort
sb_in $CG/system.slice/root-owned.scope --limits best-effort --memory 64M --pids 20 $RO -- \
  sh -c 'grep "Max processes" /proc/self/limits'
need "exit 0 (got $rc)" eq "$rc" 0
need "warns that --memory is not enforced" has "$err" "--memory 64M can't be enforced"
need "says it runs without it" has "$err" "running without it"
need "RLIMIT_NPROC stands in for --pids" has "$err" "RLIMIT_NPROC=20"
need "the command has RLIMIT_NPROC 20 (got $out)" has "$out" " 20 "
end "$(one_line "$err")"

# ---- As root in the VM: the root cgroup (exempt from the no-internal-processes rule) ---------

begin root_in_root_cgroup
rm -f $T/status
sandbox --json-status-fd 5 --cap-drop ALL --unshare-pid --memory 32M $RO --proc /proc -- sh -c "$SHOW_CG; vmtool hog 200" > $T/out 2> $T/err 5> $T/status
collect $?
cg=$(cg_of_run)
need "exit status 137 (got $rc)" eq "$rc" 137
need "ran in /sandbox-<pid> (got $cg)" has "$cg" "/sandbox-"
need "'killed: memory limit 32M reached'" has "$err" "sandbox: killed: memory limit 32M reached"
need "leaf $cg removed" gone "${cg:+$CG$cg}"
end "ran in $cg"

begin nothing_left
left=$(find $CG -name 'sandbox-*' -type d | grep -v -e '/sandbox-caller$' | tr '\n' ' ')
need "no sandbox leaf left anywhere (found: $left)" eq "$left" ""
err=
end "sandbox-caller cgroups (kept by design): $(find $CG -name 'sandbox-caller' -type d | wc -l)"
