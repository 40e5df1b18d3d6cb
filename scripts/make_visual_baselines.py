"""Run every visual-track method on the demo preset and ship their submission records as baselines.

    OMP_NUM_THREADS=1 PYTHONPATH=. python scripts/make_visual_baselines.py [--methods gold,twins] [--runs runs/visual]

Writes clear_bench/resources/baselines/visual/<method>.json. The face set, the split models and the
Original / Gold scores are cached, so each further method costs its unlearning of the 8 split models.
"""
from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path

from clear_bench.visual import VisualJobConfig, run_visual_job
from clear_bench.visual.methods import available

DEST = Path(__file__).resolve().parent.parent / "clear_bench" / "resources" / "baselines" / "visual"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--methods", default=None, help="comma-separated (default: every visual method)")
    p.add_argument("--runs", default="runs/visual")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    methods = args.methods.split(",") if args.methods else available()
    DEST.mkdir(parents=True, exist_ok=True)
    for m in methods:
        out = run_visual_job(VisualJobConfig(method=m, preset="demo", out=str(Path(args.runs) / m)), progress=False)
        shutil.copy(out / "submission.json", DEST / f"{m}.json")
        print(f"{m}: {DEST / f'{m}.json'}", flush=True)


if __name__ == "__main__":
    main()
