# agent: run an AI coding agent, a package install or any untrusted code on the project in
# the current directory. The current directory writable (nothing else of the host is), the
# host's /usr and /etc read-only, an empty private $HOME and /tmp, all namespaces new, the
# network through the user-mode stack with every destination denied (add --allow-net
# rules after it), Landlock on, the default seccomp profile, killed with its caller, in a
# new terminal session. Add --audit-fd 2 to see what was denied.
# Refused from /, /usr, /etc or $HOME (or a parent of it): that tree would become writable.
refuse-cwd-containing ${HOME} /usr /etc
include minimal
--ro-bind /etc /etc
--unshare-all
--net user
# Every destination denied: add --allow-net NAME[:PORT] after the profile for each one needed.
--allow-net none
--tmpfs ${HOME}
--setenv HOME ${HOME}
--bind ${PWD} ${PWD}
--chdir ${PWD}
--landlock
--seccomp-profile default
--die-with-parent
--new-session
# No core dumps of crashes into the writable tree.
--rlimit core=0
