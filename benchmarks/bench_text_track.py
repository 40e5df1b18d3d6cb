"""Cold wall time and peak memory of the text-only track's demo: `clear-eval --track text --preset demo
--method npo` in a fresh process with an empty cache (demo data generation, tiny base, target and gold
fine-tuning, their evaluations, unlearning, the final evaluation).

    PYTHONPATH=. python benchmarks/bench_text_track.py [--method npo] [--threads 2] [--repeat 1]

Peak memory is the child process's maximum resident set size (`getrusage(RUSAGE_CHILDREN)`); run one
measurement per invocation of this script (the maximum is taken over all children it waited for).
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


def cold_run(method: str, threads: int) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of one cold run in a child process."""
    with tempfile.TemporaryDirectory(prefix="bench-text-") as tmp:
        env = dict(os.environ, CLEAR_BENCH_CACHE=str(Path(tmp) / "cache"), OMP_NUM_THREADS=str(threads),
                   MKL_NUM_THREADS=str(threads), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1",
                   TOKENIZERS_PARALLELISM="false")
        cmd = [sys.executable, "-c", "import sys; from clear_bench.cli import clear_eval_main; "
               "sys.exit(clear_eval_main(sys.argv[1:]))", "--track", "text", "--preset", "demo",
               "--method", method, "--out", str(Path(tmp) / "run")]
        start = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    return wall, peak_kib / 1024


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--method", default="npo")
    p.add_argument("--threads", type=int, default=2, help="OMP/MKL threads of the run (default: 2)")
    p.add_argument("--repeat", type=int, default=1, help="cold runs (each from an empty cache)")
    args = p.parse_args(argv)
    print(f"clear-eval --track text --preset demo --method {args.method}, cold, {args.threads} thread(s), "
          f"{os.cpu_count()} CPUs visible")
    print("| run | wall (s) | peak RSS (MiB) |\n|---|---|---|")
    for i in range(args.repeat):
        wall, peak = cold_run(args.method, args.threads)
        print(f"| {i + 1} | {wall:.1f} | {peak:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
