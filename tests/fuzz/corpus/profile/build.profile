# build: wrap an untrusted build. The host's /usr and /etc read-only, the current
# directory writable, a private /tmp, no network, the default seccomp profile, killed with
# its caller, in a new terminal session.
include minimal
--ro-bind /etc /etc
--bind ${PWD} ${PWD}
--unshare-all
--die-with-parent
--new-session
--seccomp-profile default
# No core dumps of the build's crashes in the writable tree. Cgroup limits are left to the
# caller: add e.g. --memory 8G --pids 4096 where a delegated cgroup exists
# (systemd-run --user --scope -p Delegate=yes ...); they would fail or warn elsewhere.
--rlimit core=0
