"""Run every method the text track takes on its demo preset and ship their records as text-track baselines.

    OMP_NUM_THREADS=1 PYTHONPATH=. python scripts/make_text_baselines.py [--methods gd,npo] [--runs runs/text-baselines]

Writes clear_bench/resources/baselines/text/<method>.json (what `clear-bench transfer` reads beside the
multimodal records in baselines/). Target and gold models and their evaluations are cached, so each
method costs one unlearning run and one evaluation.
"""
from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path

from clear_bench.baselines import available
from clear_bench.job import JobConfig
from clear_bench.text.job import REFUSED, run_text_job

DEST = Path(__file__).resolve().parent.parent / "clear_bench" / "resources" / "baselines" / "text"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--methods", default=None, help="comma-separated (default: every method the text track takes)")
    p.add_argument("--runs", default="runs/text-baselines")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    methods = args.methods.split(",") if args.methods else [m for m in available() if m not in REFUSED]
    DEST.mkdir(parents=True, exist_ok=True)
    for m in methods:
        out = run_text_job(JobConfig(method=m, preset="demo", modality="text", out=str(Path(args.runs) / m)))
        shutil.copy(out / "submission.json", DEST / f"{m}.json")
        print(f"{m}: {DEST / f'{m}.json'}", flush=True)


if __name__ == "__main__":
    main()
