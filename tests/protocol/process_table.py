"""process_table.py — what runs below a kernel, read from /proc: the suites that prove cells
leave no process behind (faults, processes) share these checks."""
import time

import pytest

from wire_client import descendants_of


def kernel_pid(k):
    return k.km.provisioner.process.pid


def process_rows(pid):
    """(pid, state letter, command line) of every process below pid."""
    rows = []
    for p in descendants_of(pid):
        try:
            with open("/proc/%d/stat" % p) as f:
                stat = f.read()
            with open("/proc/%d/cmdline" % p, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue  # ended while we looked
        rows.append((p, stat[stat.rfind(")") + 2:].split()[0], cmd))
    return rows


def only_executor_below(k, within=1.0):
    """Waits (at most `within` s) until the kernel's only descendant is one live executor and
    no zombie is left; returns (executor pid, seconds waited). Fails with the table if not."""
    pid = kernel_pid(k)
    start = time.monotonic()
    while True:
        rows = process_rows(pid)
        if (len(rows) == 1 and rows[0][1] != "Z" and rows[0][2].endswith("executor 3")):
            return rows[0][0], time.monotonic() - start
        if time.monotonic() - start > within:
            pytest.fail("%.1f s after the cell ended, below kernel %d there should be only the "
                        "executor; the process table has: %r" % (within, pid, rows))
        time.sleep(0.02)
