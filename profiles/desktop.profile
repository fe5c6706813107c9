# desktop: a graphical application with the host's /usr and /etc read-only, Wayland and
# X11 sockets, PulseAudio/PipeWire, fonts and icon themes, and a private home.
# Home: an empty tmpfs, or the directory ~/.local/share/sandbox/apps/${APP} if you created
# it (APP comes from the SANDBOX_APP environment variable, "default" when unset).
# No D-Bus: add `--profile dbus` to give the session bus.
# Without XDG_RUNTIME_DIR (su -, ssh without logind, CI) it runs without the runtime sockets.
optional XDG_RUNTIME_DIR the runtime sockets (Wayland, PulseAudio, PipeWire)
# Network through the user-mode stack (pasta, else slirp4netns), not the host's network
# namespace: the host's abstract Unix sockets (a session bus on an abstract address, X11's
# @/tmp/.X11-unix/X0) and its 127.0.0.1 services are out of reach; only the sockets bound
# below are. (Needs /dev/net/tun usable by the caller, as Debian ships it.)
include minimal
--ro-bind /etc /etc
--unshare-all
--net user
--die-with-parent
--new-session
--tmpfs ${HOME}
--bind-try ${HOME}/.local/share/sandbox/apps/${APP} ${HOME}
--setenv HOME ${HOME}
--ro-bind-try ${HOME}/.local/share/fonts ${HOME}/.local/share/fonts
--ro-bind-try ${HOME}/.config/fontconfig ${HOME}/.config/fontconfig
--ro-bind-try ${HOME}/.icons ${HOME}/.icons
--ro-bind-try ${HOME}/.local/share/icons ${HOME}/.local/share/icons
--perms 0700
--dir ${XDG_RUNTIME_DIR}
--bind-try ${XDG_RUNTIME_DIR}/wayland-0 ${XDG_RUNTIME_DIR}/wayland-0
--ro-bind-try /tmp/.X11-unix /tmp/.X11-unix
--ro-bind-try ${HOME}/.Xauthority ${HOME}/.Xauthority
--bind-try ${XDG_RUNTIME_DIR}/pulse ${XDG_RUNTIME_DIR}/pulse
--bind-try ${XDG_RUNTIME_DIR}/pipewire-0 ${XDG_RUNTIME_DIR}/pipewire-0
--setenv XDG_RUNTIME_DIR ${XDG_RUNTIME_DIR}
