"""bench_process_pool.py — Python's anchor for bench_process: multiprocessing.Pool.map over
empty tasks, timed the same way as cl_process_pool_map (pool made and warmed up first, then one
map of N tasks per trial; the pool's start and end are not timed). With --mode apply, N round
trips of Pool.apply (submit one task, wait for its result) instead.

Run by bench_process once per trial, with Debian's /usr/bin/python3, so trials alternate with
conclab's. Prints one JSON object: {"seconds": [one float per trial], "python": version}.
Standard library only."""
import argparse
import json
import multiprocessing
import sys
import time


def empty(x):
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--tasks", type=int, required=True)
    parser.add_argument("--trials", type=int, default=1)
    parser.add_argument("--mode", choices=("map", "apply"), default="map")
    args = parser.parse_args()
    ctx = multiprocessing.get_context("fork")  # what conclab does: workers are forks
    seconds = []
    with ctx.Pool(args.workers) as pool:
        pool.map(empty, range(args.workers * 4))  # warm up: every worker has started
        for _ in range(args.trials):
            start = time.perf_counter()
            if args.mode == "map":
                pool.map(empty, range(args.tasks))
            else:
                for i in range(args.tasks):
                    pool.apply(empty, (i,))
            seconds.append(time.perf_counter() - start)
    json.dump({"seconds": seconds, "python": sys.version.split()[0]}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
