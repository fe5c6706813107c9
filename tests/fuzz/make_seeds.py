#!/usr/bin/env python3
"""Writes the seed corpus of the cli fuzzer (tests/fuzz/corpus/cli/), one file per seed.

Format (cli_fuzz.cpp): argv elements separated by NUL; after a 0x01 byte, --args streams
separated by 0x01 (stream N is descriptor 100+N). Re-run after adding seeds here; the
files are committed so that the corpus needs no Python to use.
"""
import os

SEEDS = {
    "desktop": ["--ro-bind", "/", "/", "--unshare-all", "--dev", "/dev", "--proc", "/proc",
                "--tmpfs", "/tmp", "true"],
    "share-net": ["--ro-bind", "/", "/", "--unshare-all", "--share-net", "--dev", "/dev", "true"],
    "binds": ["--bind", "/tmp", "/tmp", "--bind-try", "/nonexistent", "/x", "--dev-bind", "/dev",
              "/dev", "--dev-bind-try", "/dev/null", "/n", "--ro-bind-try", "/usr", "/usr",
              "--remount-ro", "/usr", "--", "sh", "-c", "echo hi"],
    "dirs": ["--perms", "0700", "--dir", "/a/b", "--symlink", "usr/bin", "/bin", "--chmod", "0755",
             "/a", "--size", "1M", "--tmpfs", "/t", "--perms", "01777", "--tmpfs", "/s",
             "--mqueue", "/dev/mqueue", "ls"],
    "overlay": ["--overlay-src", "/usr", "--overlay-src", "/opt", "--tmp-overlay", "/usr",
                "--overlay-src", "/etc", "--ro-overlay", "/etc", "--overlay-src", "/var",
                "--overlay", "/tmp/up", "/tmp/work", "/var", "true"],
    "ids": ["--unshare-user", "--uid", "0", "--gid", "0", "--hostname", "box", "--unshare-uts",
            "--unshare-ipc", "--unshare-pid", "--as-pid-1", "--unshare-cgroup-try", "id"],
    "caps": ["--cap-add", "ALL", "--cap-drop", "CAP_NET_RAW", "--cap-drop", "sys_admin",
             "--cap-add", "cap_chown", "--uid", "0", "true"],
    "env": ["--clearenv", "--setenv", "PATH", "/usr/bin", "--unsetenv", "HOME", "--argv0", "x",
            "--chdir", "/tmp", "--new-session", "--die-with-parent", "env"],
    "fds": ["--sync-fd", "1", "--info-fd", "2", "--json-status-fd", "2", "--block-fd", "0",
            "--userns-block-fd", "0", "--file", "0", "/f", "--bind-data", "0", "/g",
            "--ro-bind-data", "0", "/h", "--lock-file", "/tmp/l", "true"],
    "net": ["--unshare-net", "--net", "user", "--publish", "127.0.0.1:8080:80/tcp", "--subnet",
            "10.0.2.0/24", "true"],
    "allow-net": ["--net", "pasta", "--allow-net", "10.0.0.0/8:443", "--allow-net",
                  "[2001:db8::/32]:80-90", "--allow-net", "*.pypi.org", "--allow-net", "1.2.3.4",
                  "true"],
    "net-veth": ["--net", "veth", "--publish", "8080:80", "--subnet", "fd00::/64", "true"],
    "userns": ["--disable-userns", "--assert-userns-disabled", "--userns", "0", "--userns2", "0",
               "--pidns", "0", "true"],
    "seccomp": ["--seccomp-profile", "default", "--seccomp-log", "--seccomp", "0",
                "--add-seccomp-fd", "0", "--seccomp-profile", "build.json", "true"],
    "profile": ["--profile", "minimal", "--ro-bind", "/etc", "/etc", "true"],
    "print-args": ["--print-args", "--profile", "desktop", "--level-prefix", "true"],
    "labels": ["--exec-label", "system_u:system_r:x", "--file-label", "y", "true"],
    "misc": ["--help"],
    "version": ["--version"],
    "list": ["--list-profiles"],
    "bad-perms": ["--perms", "0888", "--dir", "/x"],
    "bad-size": ["--size", "99999999999999999999", "--tmpfs", "/x"],
    "unknown": ["--no-such-option", "x"],
    "missing-arg": ["--bind", "/"],
}

STREAMS = {
    "args": (["--args", "100", "true"], ["--ro-bind\0/\0/\0--dev\0/dev\0"]),
    "args-nested": (["--args", "100", "--args", "101", "true"],
                    ["--args\0101\0--tmpfs\0/tmp\0", "--ro-bind\0/usr\0/usr\0"]),
    "args-no-nul": (["--args", "100", "true"], ["--bind\0/a\0/b"]),
    "args-self": (["--args", "100", "true"], ["--args\0100\0"]),
    "args-command": (["--args", "100"], ["--ro-bind\0/\0/\0--\0true\0"]),
}

def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "cli")
    os.makedirs(out, exist_ok=True)
    for name, argv in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write("\0".join(argv).encode())
    for name, (argv, streams) in STREAMS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write("\0".join(argv).encode() + b"\x01" + b"\x01".join(s.encode() for s in streams))

if __name__ == "__main__":
    main()
