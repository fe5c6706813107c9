#!/usr/bin/env python3
"""CPU time per launch by syscall, from a system-wide perf recording of a loop of launches.

    perf record -o sb.data -F 15000 -e cpu-clock -g -a -- setpriv --reuid=65534 \\
        --regid=65534 --clear-groups sh -c 'for i in $(seq 300); do sandbox ARGS true; done'
    perf script -i sb.data -F comm,ip,sym,dso | bench/perf_by_syscall.py sandbox,true 300 15000

Each sample of the named commands is charged to the innermost syscall of its call chain
(__x64_sys_*, __do_sys_*), else to `pagefault` (asm_exc_page_fault), else to `user` (a
user-space frame on top), else to `kernel, no syscall frame`. Prints milliseconds per
launch (samples / frequency / launches), the biggest first. Run it on sandbox and on
startup_floor (comms `startup_floor,true`) and compare the two columns.
"""
import collections
import re
import sys


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    comms = set(sys.argv[1].split(","))
    launches, hz = int(sys.argv[2]), float(sys.argv[3])
    per_cat = collections.Counter()
    state = {"comm": None, "frames": []}

    def flush():
        if state["comm"] not in comms:
            return
        cat = None
        for f in state["frames"]:  # innermost first
            m = re.match(r"(__x64_sys_|__ia32_sys_|__do_sys_|__se_sys_)(\w+)", f)
            if m:
                cat = "sys_" + m.group(2)
            elif "asm_exc_page_fault" in f and cat is None:
                cat = "pagefault"
        if cat is None:
            frames = state["frames"]
            cat = "user" if frames and frames[0].startswith("[u]") else "kernel, no syscall frame"
        per_cat[cat] += 1

    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line.strip():
            flush()
            state["comm"], state["frames"] = None, []
        elif not line.startswith((" ", "\t")):
            flush()
            state["comm"], state["frames"] = line.split()[0], []
        else:
            parts = line.strip().split(None, 2)
            if len(parts) >= 2:
                user = len(parts) > 2 and "kernel" not in parts[2]
                state["frames"].append(("[u]" if user else "") + parts[1])
    flush()
    total = sum(per_cat.values())
    print("%-32s %8.3f ms/launch" % ("TOTAL", total / hz / launches * 1000))
    for cat, n in per_cat.most_common():
        print("%-32s %8.3f" % (cat, n / hz / launches * 1000))


if __name__ == "__main__":
    main()
