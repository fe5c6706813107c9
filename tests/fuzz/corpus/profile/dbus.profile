# dbus: the D-Bus session bus socket, for applications that need it (with desktop).
--bind-try ${XDG_RUNTIME_DIR}/bus ${XDG_RUNTIME_DIR}/bus
--setenv DBUS_SESSION_BUS_ADDRESS unix:path=${XDG_RUNTIME_DIR}/bus
