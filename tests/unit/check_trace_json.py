"""check_trace_json.py — the Chrome trace files cl_trace_save writes are JSON that trace viewers
read: runs test_runtime_trace (given as the argument) keeping its files, loads each with
json.load, and checks the Trace Event Format's rules that Perfetto and chrome://tracing rely on:
known phases, numeric pid/tid/ts, durations >= 0 on complete events, async begin/end pairs with
the same id, flow starts with a matching finish, metadata naming every thread that has events."""
import glob
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter

PHASES = set("MXbeinCsf")


def check(path):
    with open(path) as f:
        trace = json.load(f)
    events = trace["traceEvents"]
    assert isinstance(events, list) and events, path
    phases = Counter()
    named_threads = set()
    threads_with_events = set()
    open_async = Counter()
    flows = Counter()
    for e in events:
        ph = e["ph"]
        assert ph in PHASES, (path, e)
        phases[ph] += 1
        assert isinstance(e["pid"], int) and isinstance(e["tid"], int), e
        assert isinstance(e["ts"], (int, float)), e
        if ph == "M":
            assert e["name"] in ("process_name", "process_sort_index", "thread_name",
                                 "thread_sort_index"), e
            if e["name"] == "thread_name":
                named_threads.add((e["pid"], e["tid"]))
        elif ph == "X":
            assert e["dur"] >= 0, e
            assert e["name"] in ("running", "lock", "wait", "sleep", "io", "gil", "join"), e
            threads_with_events.add((e["pid"], e["tid"]))
        elif ph in "be":
            assert e["cat"] == "task" and e["id"], e
            open_async[(e["id"], e["name"])] += 1 if ph == "b" else -1
        elif ph in "sf":
            flows[e["id"]] += 1 if ph == "s" else -1
            if ph == "f":
                assert e["bp"] == "e", e
    assert all(v == 0 for v in open_async.values()), (path, open_async)
    assert all(v == 0 for v in flows.values()), (path, "unmatched flows")
    assert threads_with_events <= named_threads, (path, threads_with_events - named_threads)
    assert phases["M"] > 0 and phases["X"] > 0, (path, phases)
    return phases


def main():
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, CONCLAB_TRACE_DIR=d, CONCLAB_TRACE_KEEP="1")
        subprocess.run([binary], env=env, check=True)
        files = sorted(glob.glob(os.path.join(d, "trace_*.json")))
        assert len(files) >= 8, files
        seen = Counter()
        for path in files:
            seen.update(check(path))
        for ph in "MXbeisf":
            assert seen[ph] > 0, ("no event of phase", ph, seen)
        print("check_trace_json: %d files, phases %s" % (len(files), dict(seen)))


if __name__ == "__main__":
    main()
