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
