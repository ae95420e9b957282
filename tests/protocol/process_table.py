"""process_table.py — what runs below a kernel, read from /proc: the suites that prove cells
leave no process behind (faults, processes) share these checks."""
import re
import time

import pytest

from wire_client import descendants_of


def kernel_pid(k):
    return k.km.provisioner.process.pid


# The compiler process (kernel/compiler/include/compiler.h) runs beside the executor for the notebook's
# whole life; it is the executor's fork, told apart by its process name. So is the spare
# (kernel/executor/spare.h), the next cell's process, forked while the notebook is idle.
COMPILER_NAME = "conclab-compile"
SPARE_NAME = "conclab-spare"


def process_rows(pid):
    """(pid, state letter, command line, process name) of every process below pid."""
    rows = []
    for p in descendants_of(pid):
        try:
            with open("/proc/%d/stat" % p) as f:
                stat = f.read()
            with open("/proc/%d/cmdline" % p, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue  # ended while we looked
        name = stat[stat.find("(") + 1:stat.rfind(")")]
        rows.append((p, stat[stat.rfind(")") + 2:].split()[0], cmd, name))
    return rows


def engine_processes_only(rows):
    """The holder of the notebook, if rows are exactly one live executor, its compiler and at
    most one spare."""
    live = [r for r in rows if r[1] != "Z" and re.search(r"conclab executor \d+$", r[2])]
    holders = [r for r in live if r[3] not in (COMPILER_NAME, SPARE_NAME)]
    compilers = [r for r in live if r[3] == COMPILER_NAME]
    spares = [r for r in live if r[3] == SPARE_NAME]
    if len(rows) == 2 + len(spares) and len(holders) == 1 and len(compilers) == 1 and len(spares) <= 1:
        return holders[0][0]
    return None


def only_executor_below(k, within=1.0):
    """Waits (at most `within` s) until the kernel's only descendants are one live executor, its
    compiler and perhaps its spare, and no zombie is left; returns (executor pid, seconds waited). Fails with the
    table if not."""
    pid = kernel_pid(k)
    start = time.monotonic()
    while True:
        rows = process_rows(pid)
        holder = engine_processes_only(rows)
        if holder:
            return holder, time.monotonic() - start
        if time.monotonic() - start > within:
            pytest.fail("%.1f s after the cell ended, below kernel %d there should be only the "
                        "executor, its compiler and perhaps a spare; the process table has: %r" % (within, pid, rows))
        time.sleep(0.02)
