"""Run every registered method on the demo preset and ship their submission records as baselines.

    OMP_NUM_THREADS=1 PYTHONPATH=. python scripts/make_demo_baselines.py [--methods gd,npo] [--runs runs/baselines]

Writes clear_bench/resources/baselines/<method>.json (the records `clear-bench leaderboard` includes).
Target and gold models and their evaluations are cached, so each method costs one unlearning run and
one evaluation.
"""
from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path

from clear_bench.baselines import available
from clear_bench.job import JobConfig, run_job

DEST = Path(__file__).resolve().parent.parent / "clear_bench" / "resources" / "baselines"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--methods", default=None, help="comma-separated (default: every registered method)")
    p.add_argument("--runs", default="runs/baselines")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    methods = args.methods.split(",") if args.methods else available()
    DEST.mkdir(parents=True, exist_ok=True)
    for m in methods:
        out = run_job(JobConfig(method=m, preset="demo", modality="both", out=str(Path(args.runs) / m)))
        shutil.copy(out / "submission.json", DEST / f"{m}.json")
        print(f"{m}: {DEST / f'{m}.json'}", flush=True)


if __name__ == "__main__":
    main()
