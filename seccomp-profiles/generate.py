#!/usr/bin/env python3
"""Writes default.json, build.json and flatpak-like.json (OCI / Docker seccomp format).

The profiles are plain JSON that any container engine reads; this script only keeps the
parts that are tedious by hand (the bit-pattern rules below) correct. Edit it and run
`python3 seccomp-profiles/generate.py`; the unit tests check the result rule by rule.

Why bit patterns: seccomp compares whole 64-bit registers while the kernel reads ioctl's
request as a 32-bit unsigned int, so "request != TIOCSTI" must be written as "the low 32
bits differ from TIOCSTI in some bit" -- one SCMP_CMP_MASKED_EQ rule per bit, because
libseccomp can neither AND two comparisons of one argument nor negate a masked compare.
"""
import itertools
import json
import os
import sys

EPERM, ENOSYS, EAFNOSUPPORT = 1, 38, 97
TIOCSTI, TIOCLINUX = 0x5412, 0x541C
CLONE_NEWUSER = 0x10000000
# CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID
# | CLONE_NEWNET, as Docker's profile (CLONE_NEWTIME only exists for clone3 and unshare).
CLONE_NS_FLAGS = 0x7E020000
AF_VSOCK = 40
AF_MAX = 46  # first family the kernel does not have (6.x)

NATIVE_ARCHES = ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64", "SCMP_ARCH_PPC64LE",
                 "SCMP_ARCH_S390X", "SCMP_ARCH_RISCV64"]

FILES = """
access chdir chmod chown chown32 close close_range copy_file_range creat dup dup2 dup3
faccessat faccessat2 fadvise64 fadvise64_64 fallocate fchdir fchmod fchmodat fchmodat2
fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr flock fremovexattr
fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futimesat
getcwd getdents getdents64 getxattr inotify_add_watch inotify_init inotify_init1
inotify_rm_watch lchown lchown32 lgetxattr link linkat listxattr llistxattr _llseek
lremovexattr lseek lsetxattr lstat lstat64 mkdir mkdirat mknod mknodat newfstatat open
openat openat2 pread64 preadv preadv2 pwrite64 pwritev pwritev2 read readahead readlink
readlinkat readv removexattr rename renameat renameat2 rmdir sendfile sendfile64 setxattr
splice stat stat64 statfs statfs64 statx symlink symlinkat sync sync_file_range syncfs tee
truncate truncate64 umask unlink unlinkat utime utimensat utimensat_time64 utimes vmsplice
write writev cachestat memfd_create
epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait
epoll_wait_old eventfd eventfd2 pipe pipe2 poll ppoll ppoll_time64 pselect6
pselect6_time64 select _newselect signalfd signalfd4 timerfd_create timerfd_gettime
timerfd_gettime64 timerfd_settime timerfd_settime64
io_cancel io_destroy io_getevents io_pgetevents io_pgetevents_time64 io_setup io_submit
ioprio_get ioprio_set
"""
MEMORY = """
brk madvise membarrier memfd_secret mincore mlock mlock2 mlockall mmap mmap2 mprotect
mremap msync munlock munlockall munmap pkey_alloc pkey_free pkey_mprotect remap_file_pages
map_shadow_stack
"""
PROCESSES = """
execve execveat exit exit_group fork vfork wait4 waitid waitpid getpid getppid gettid
getpgid getpgrp getsid setpgid setsid set_tid_address set_robust_list get_robust_list rseq
futex futex_time64 futex_waitv futex_wake futex_wait futex_requeue kill tkill tgkill
pidfd_open pidfd_send_signal process_mrelease prctl get_thread_area set_thread_area capget
capset getrlimit setrlimit prlimit64 ugetrlimit getrusage getpriority setpriority
sched_getaffinity sched_getattr sched_getparam sched_get_priority_max
sched_get_priority_min sched_getscheduler sched_rr_get_interval
sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam
sched_setscheduler sched_yield getcpu seccomp landlock_add_rule landlock_create_ruleset
landlock_restrict_self restart_syscall times sysinfo uname getrandom
alarm pause rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn
rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sigaltstack
sigprocmask sigreturn
clock_getres clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep
clock_nanosleep_time64 gettimeofday nanosleep time getitimer setitimer timer_create
timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64
adjtimex clock_adjtime clock_adjtime64
"""
IDS = """
getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 getresgid
getresgid32 getresuid getresuid32 getuid getuid32 setfsgid setfsgid32 setfsuid setfsuid32
setgid setgid32 setgroups setgroups32 setregid setregid32 setresgid setresgid32 setresuid
setresuid32 setreuid setreuid32 setuid setuid32
"""
SOCKETS = """
accept accept4 bind connect getpeername getsockname getsockopt listen recv recvfrom
recvmmsg recvmmsg_time64 recvmsg send sendmmsg sendmsg sendto setsockopt shutdown
socketpair
"""
IPC = """
ipc mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend
mq_timedsend_time64 mq_unlink msgctl msgget msgrcv msgsnd semctl semget semop semtimedop
semtimedop_time64 shmat shmctl shmdt shmget
"""

DENIED = [
    ("Kernel modules and kexec", "init_module finit_module delete_module kexec_load kexec_file_load"),
    ("Rebooting, swap, accounting, quotas, the kernel log, host clocks and names",
     "reboot swapon swapoff acct quotactl quotactl_fd syslog settimeofday clock_settime "
     "clock_settime64 stime sethostname setdomainname vhangup"),
    ("The mount family: the sandbox's mount table is fixed once the command runs",
     "mount umount umount2 pivot_root chroot move_mount open_tree fsopen fsconfig fsmount "
     "fspick mount_setattr"),
    ("New namespaces (clone with CLONE_NEW* flags is refused below too)", "unshare setns"),
    ("Kernel attack surface with a history of exploits: eBPF, perf events, the keyrings, "
     "userfaultfd, io_uring (its operations run in kernel workers that seccomp never sees)",
     "bpf perf_event_open keyctl add_key request_key userfaultfd io_uring_setup "
     "io_uring_enter io_uring_register lookup_dcookie fanotify_init"),
    ("ptrace and its relatives are denied entirely: debuggers and strace belong outside the "
     "sandbox, and before Linux 4.8 a tracer could rewrite a syscall after the filter ran",
     "ptrace process_vm_readv process_vm_writev kcmp pidfd_getfd process_madvise"),
    ("File handles bypass path-based checks; NUMA policy and raw I/O ports need privileges",
     "name_to_handle_at open_by_handle_at get_mempolicy set_mempolicy set_mempolicy_home_node "
     "mbind migrate_pages move_pages iopl ioperm"),
    ("Obsolete", "uselib _sysctl sysfs ustat nfsservctl"),
]


def names(block):
    return block.split()


def allow(comment, block, **extra):
    r = {"names": sorted(set(names(block))), "action": "SCMP_ACT_ALLOW"}
    r.update(extra)
    if comment:
        r["comment"] = comment
    return r


def masked(index, mask, value):
    return {"index": index, "value": mask, "valueTwo": value, "op": "SCMP_CMP_MASKED_EQ"}


def cmp(index, op, value):
    return {"index": index, "value": value, "op": "SCMP_CMP_" + op}


def not_in_low32(excluded):
    """(mask, value) pairs whose union is every 32-bit x not in `excluded` (two values).

    x differs from both on a bit where they agree: one single-bit rule per such bit. What
    remains agrees with them there; the bits where they differ are covered by small cubes
    that contain neither value.
    """
    a, b = excluded
    diff = a ^ b
    cubes = [(1 << i, (~a & (1 << i))) for i in range(32) if not diff & (1 << i)]
    dbits = [i for i in range(32) if diff & (1 << i)]
    # The 2^k patterns of the differing bits, minus a's and b's, by the fewest cubes.
    k = len(dbits)
    def spread(pattern, bits):
        return sum(((pattern >> j) & 1) << bits[j] for j in range(len(bits)))
    pa = sum(((a >> bit) & 1) << j for j, bit in enumerate(dbits))
    pb = sum(((b >> bit) & 1) << j for j, bit in enumerate(dbits))
    want = set(range(1 << k)) - {pa, pb}
    candidates = []  # every cube over the differing bits that holds neither value
    for m in range(1, 1 << k):
        for v in range(1 << k):
            members = {p for p in range(1 << k) if p & m == v}
            if not v & ~m and pa not in members and pb not in members:
                candidates.append((m, v, members))
    best = None
    for size in range(1, len(want) + 1):  # the smallest cover (k is tiny)
        for combo in itertools.combinations(candidates, size):
            if set().union(*(c[2] for c in combo)) == want:
                best = combo
                break
        if best:
            break
    cubes += [(spread(m, dbits), spread(v, dbits)) for m, v, _ in best]
    # Check it: every pattern of the low bits around the excluded values.
    for x in list(range(0, 1 << 16)) + [a | (h << 16) for h in (1, 0x8000, 0xFFFF)]:
        covered = any(x & m == v for m, v in cubes)
        assert covered == (x not in excluded), hex(x)
    return cubes


def ioctl_rules():
    cubes = not_in_low32((TIOCSTI, TIOCLINUX))
    rules = []
    for i, (m, v) in enumerate(cubes):
        r = {"names": ["ioctl"], "action": "SCMP_ACT_ALLOW", "args": [masked(1, m, v)]}
        if i == 0:
            r["comment"] = (
                "ioctl is allowed unless its request (the low 32 bits of argument 1, an "
                "unsigned int to the kernel) is TIOCSTI (0x5412, pushes input into a "
                "terminal) or TIOCLINUX (0x541c, virtual console copy/paste). seccomp cannot "
                "say 'not one of' on a masked value, so these %d rules together allow every "
                "request that differs from both in some bit (written by generate.py)." % len(cubes))
        rules.append(r)
    return rules


def personality_rules():
    rules = []
    for i, v in enumerate([0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF]):
        r = {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [masked(0, 0xFFFFFFFF, v)]}
        if i == 0:
            r["comment"] = ("personality: only PER_LINUX (0), UNAME26 (0x8), PER_LINUX32 "
                            "(0x20000), both (0x20008) and the query 0xffffffff, as Docker")
        rules.append(r)
    return rules


def clone_rules_allowlist():
    return [
        {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
         "args": [masked(0, CLONE_NS_FLAGS, 0)],
         "excludes": {"arches": ["s390", "s390x"]},
         "comment": "clone without any CLONE_NEW* flag (no new namespaces); threads and fork"},
        {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
         "args": [masked(1, CLONE_NS_FLAGS, 0)],
         "includes": {"arches": ["s390", "s390x"]},
         "comment": "s390 passes clone's flags second"},
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS,
         "comment": "seccomp cannot read clone3's flags (they are in memory): ENOSYS makes "
                    "glibc fall back to clone, whose flags are checked above"},
    ]


def arch_specific():
    return [
        allow(None, "arch_prctl", includes={"arches": ["amd64", "x32"]}),
        allow(None, "modify_ldt", includes={"arches": ["amd64", "x32", "x86"]}),
        allow(None, "arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint "
                    "cacheflush set_tls", includes={"arches": ["arm", "arm64"]}),
        allow(None, "sync_file_range2 swapcontext", includes={"arches": ["ppc64le"]}),
        allow(None, "s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr",
              includes={"arches": ["s390", "s390x"]}),
        allow(None, "riscv_flush_icache", includes={"arches": ["riscv64"]}),
    ]


def denied_rules():
    rules = []
    for comment, block in DENIED:
        rules.append({"names": names(block), "action": "SCMP_ACT_ERRNO", "errnoRet": EPERM,
                      "comment": "Denied (the default action already does; listed to document "
                                 "the intent): " + comment})
    return rules


def allowlist(comment, socket_rules, extra_sockets=""):
    return {
        "comment": comment,
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": EPERM,
        "architectures": NATIVE_ARCHES,
        "syscalls": [
            allow("Files, descriptors, I/O and event loops", FILES),
            allow("Memory", MEMORY),
            allow("Processes, threads, signals, time, scheduling, resource limits", PROCESSES),
            allow("User and group ids (only the ids mapped into the sandbox exist)", IDS),
            allow("Sockets, once created (socket itself is below)", SOCKETS + extra_sockets),
            allow("System V and POSIX IPC", IPC),
        ] + arch_specific() + personality_rules() + clone_rules_allowlist() + socket_rules
          + ioctl_rules() + denied_rules(),
    }


def default_profile():
    sockets = [
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [cmp(0, "LT", AF_VSOCK)],
         "comment": "socket: every address family except AF_VSOCK (40), which reaches the "
                    "hypervisor or host whatever the network namespace; 64-bit compares, so "
                    "high garbage bits never pass. Families newer than the kernel's are denied"},
    ] + [{"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [cmp(0, "EQ", f)]}
         for f in range(AF_VSOCK + 1, AF_MAX)]
    return allowlist(
        "sandbox default: an allowlist in the spirit of Docker's and podman's default "
        "profiles for ordinary programs, compilers, shells, interpreters, threads and GUI "
        "apps. Denied with EPERM: kernel modules, kexec, reboot, the mount family, new "
        "namespaces, bpf, perf_event_open, the keyrings, userfaultfd, io_uring, ptrace, "
        "personality changes, the TIOCSTI/TIOCLINUX ioctls and AF_VSOCK; unlisted syscalls "
        "get EPERM too (as Docker; clone3 gets ENOSYS so that glibc falls back to clone). "
        "Only 64-bit native ABIs are listed: i386 (int 0x80) and x32 calls kill the process.",
        sockets, extra_sockets="socketcall")


def build_profile():
    sockets = [
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [cmp(0, "EQ", 1)],
         "comment": "socket: AF_UNIX (= AF_LOCAL, 1) only"},
        {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": EAFNOSUPPORT,
         "args": [cmp(0, "LT", 1)],
         "comment": "every other family fails with EAFNOSUPPORT, so that programs treat the "
                    "network as absent rather than forbidden"},
        {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": EAFNOSUPPORT,
         "args": [cmp(0, "GT", 1)]},
    ]
    return allowlist(
        "sandbox build: the default profile for builds and tests that must not use the "
        "network: socket() succeeds only for AF_UNIX (AF_LOCAL); AF_INET, AF_INET6, "
        "AF_NETLINK, AF_PACKET and every other family fail with EAFNOSUPPORT. seccomp cannot "
        "see addresses, so this also rules out loopback TCP/UDP: a build that needs "
        "127.0.0.1 should use the default profile with --unshare-net (a network namespace "
        "holding only lo) instead. io_uring, which could open sockets without socket(), is "
        "denied as in the default profile.", sockets)


def flatpak_like_profile():
    perm = lambda block, comment=None, **kw: dict(
        {"names": names(block), "action": "SCMP_ACT_ERRNO", "errnoRet": EPERM},
        **({"comment": comment} if comment else {}), **kw)
    nosys = lambda block, comment: {"names": names(block), "action": "SCMP_ACT_ERRNO",
                                    "errnoRet": ENOSYS, "comment": comment}
    allowed_families = [0, 1, 2, 10, 16, 29, 31]  # UNSPEC UNIX INET INET6 NETLINK CAN BLUETOOTH
    family_rules = []
    for f in range(0, 32):
        if f not in allowed_families:
            family_rules.append({"names": ["socket"], "action": "SCMP_ACT_ERRNO",
                                 "errnoRet": EAFNOSUPPORT, "args": [cmp(0, "EQ", f)]})
    family_rules.append({"names": ["socket"], "action": "SCMP_ACT_ERRNO",
                         "errnoRet": EAFNOSUPPORT, "args": [cmp(0, "GE", 32)]})
    family_rules[0]["comment"] = (
        "socket: only AF_UNSPEC, AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_CAN and "
        "AF_BLUETOOTH; other families fail with EAFNOSUPPORT as in flatpak (64-bit compares: "
        "a value with high bits set is >= 32 and denied)")
    return {
        "comment": "sandbox flatpak-like: the blocklist flatpak applies to desktop apps. "
                   "Everything is allowed except the syscalls flatpak denies (plus bpf, "
                   "userfaultfd, kexec and kernel modules); clone3 and the new mount API get "
                   "ENOSYS so that programs fall back to calls that can be checked or fail.",
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": NATIVE_ARCHES,
        "syscalls": [
            perm("syslog uselib acct modify_ldt quotactl quotactl_fd",
                 "The kernel log, an obsolete call, accounting, LDT games and quotas"),
            perm("add_key keyctl request_key", "The kernel keyrings"),
            perm("move_pages mbind get_mempolicy set_mempolicy migrate_pages",
                 "NUMA memory policy"),
            perm("unshare setns mount umount umount2 pivot_root chroot",
                 "No new namespaces, no changes to the mount table"),
            perm("open_by_handle_at name_to_handle_at", "File handles bypass path checks"),
            perm("bpf userfaultfd perf_event_open", "Kernel attack surface; profiling is done "
                                                   "from outside the sandbox"),
            perm("ptrace", "flatpak allows ptrace only with --devel"),
            perm("kexec_load kexec_file_load init_module finit_module delete_module",
                 "Kernel replacement and modules"),
            perm("clone", "clone with CLONE_NEWUSER", args=[masked(0, CLONE_NEWUSER, CLONE_NEWUSER)],
                 excludes={"arches": ["s390", "s390x"]}),
            perm("clone", "s390 passes clone's flags second",
                 args=[masked(1, CLONE_NEWUSER, CLONE_NEWUSER)],
                 includes={"arches": ["s390", "s390x"]}),
            perm("ioctl", "TIOCSTI: faking terminal input (CVE-2017-5226); the request is an "
                          "unsigned int, so only the low 32 bits are compared",
                 args=[masked(1, 0xFFFFFFFF, TIOCSTI)]),
            perm("ioctl", "TIOCLINUX: virtual console copy/paste (CVE-2023-28100)",
                 args=[masked(1, 0xFFFFFFFF, TIOCLINUX)]),
            perm("personality", "personality: only PER_LINUX, as flatpak (even the "
                                "0xffffffff query fails)", args=[cmp(0, "NE", 0)]),
            nosys("clone3", "seccomp cannot read clone3's flags: ENOSYS makes glibc use clone"),
            nosys("open_tree move_mount fsopen fsconfig fsmount fspick mount_setattr",
                  "The new mount API, as flatpak: ENOSYS"),
        ] + family_rules,
    }


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    for name, prof in [("default", default_profile()), ("build", build_profile()),
                       ("flatpak-like", flatpak_like_profile())]:
        path = os.path.join(here, name + ".json")
        with open(path, "w") as f:
            json.dump(prof, f, indent=2)
            f.write("\n")
        print("wrote", path, file=sys.stderr)


if __name__ == "__main__":
    main()
