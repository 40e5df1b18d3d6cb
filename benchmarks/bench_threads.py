"""The demo's fine-tune with the CLI's chosen thread count vs torch's default of 2, while another process
keeps both cores busy (issue 27: a newcomer's first command on a shared 2-core machine).

    python benchmarks/bench_threads.py [--epochs 1]

Each arm is a fresh `clear-bench finetune --preset demo` process (empty cache, same seed); the load is two
busy-looping processes started before and stopped after each arm. Prints the wall and CPU seconds of both.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import subprocess
import sys
import tempfile
import time


def _spin() -> None:
    while True:
        pass


def _finetune(threads: list[str], epochs: float) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
        env["CLEAR_BENCH_CACHE"] = tmp
        cmd = [sys.executable, "-m", "clear_bench.cli", *threads, "finetune", "--preset", "demo", "--out",
               f"{tmp}/target", "--epochs", str(epochs)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=float, default=1.0, help="fine-tune epochs per arm (default: 1)")
    ap.add_argument("--load", type=int, default=2, help="busy processes while measuring (default: 2)")
    args = ap.parse_args()
    rows = []
    for name, flags in (("chosen by the CLI (1 thread: tiny model)", []), ("2 threads", ["--threads", "2"])):
        load = [mp.Process(target=_spin, daemon=True) for _ in range(args.load)]
        for p in load:
            p.start()
        try:
            wall, cpu = _finetune(flags, args.epochs)
        finally:
            for p in load:
                p.terminate()
        rows.append((name, wall, cpu))
    print(f"demo fine-tune, {args.epochs:g} epoch(s), {args.load} busy processes on {os.cpu_count()} cores")
    print(f"{'threads':45s} {'wall s':>8s} {'cpu s':>8s}")
    for name, wall, cpu in rows:
        print(f"{name:45s} {wall:8.1f} {cpu:8.1f}")


if __name__ == "__main__":
    main()
