"""Cold wall time and peak memory of the text-only track's demo: `clear-eval --track text --preset demo
--method npo` in a fresh process with an empty cache (demo data generation, tiny base, target and gold
fine-tuning, their evaluations, unlearning, the final evaluation).

    PYTHONPATH=. python benchmarks/bench_text_track.py [--method npo] [--threads 2] [--repeat 1]

Peak memory is the child process's maximum resident set size (`getrusage(RUSAGE_CHILDREN)`; the maximum
over all children waited for, so one cold run per invocation of this script gives that run's). CPU seconds
(user + system, all threads) are printed too: on a machine shared with other work they say more than the
wall time, which grows with the contention.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def cold_run(method: str, threads: int) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS in MiB) of one cold run in a child process."""
    with tempfile.TemporaryDirectory(prefix="bench-text-") as tmp:
        env = dict(os.environ, CLEAR_BENCH_CACHE=str(Path(tmp) / "cache"), OMP_NUM_THREADS=str(threads),
                   MKL_NUM_THREADS=str(threads), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1",
                   TOKENIZERS_PARALLELISM="false")
        cmd = [sys.executable, "-c", "import sys; from clear_bench.cli import clear_eval_main; "
               "sys.exit(clear_eval_main(sys.argv[1:]))", "--track", "text", "--preset", "demo",
               "--method", method, "--out", str(Path(tmp) / "run")]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu, usage.ru_maxrss / 1024  # ru_maxrss: KiB on Linux


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--method", default="npo")
    p.add_argument("--threads", type=int, default=2, help="OMP/MKL threads of the run (default: 2)")
    p.add_argument("--repeat", type=int, default=1, help="cold runs (each from an empty cache)")
    args = p.parse_args(argv)
    print(f"clear-eval --track text --preset demo --method {args.method}, cold, {args.threads} thread(s), "
          f"{os.cpu_count()} CPUs visible")
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print("| run | wall (s) | CPU (s) | peak RSS (MiB) |\n|---|---|---|---|")
    for i in range(args.repeat):
        wall, cpu, peak = cold_run(args.method, args.threads)
        print(f"| {i + 1} | {wall:.1f} | {cpu:.1f} | {peak:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
