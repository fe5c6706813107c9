# minimal: nothing but /usr and the merged-/usr links, a new /proc, a minimal /dev and a
# private /tmp. Assumes a merged-/usr host (Debian 12+, Fedora, Arch, Ubuntu 22.04+).
--ro-bind /usr /usr
--symlink usr/bin /bin
--symlink usr/sbin /sbin
--symlink usr/lib /lib
--symlink usr/lib64 /lib64
--proc /proc
--dev /dev
--tmpfs /tmp
