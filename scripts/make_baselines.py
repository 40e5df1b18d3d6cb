"""Run every method of a track on its demo preset and ship their submission records as that track's baselines.

    OMP_NUM_THREADS=1 CLEAR_BENCH_CACHE=<fresh> PYTHONPATH=. python scripts/make_baselines.py --track TRACK \\
        [--methods gd,npo] [--runs <fresh folder>] [--attacks quanto-int8,quanto-int4,relearn-forget]

Writes clear_bench/resources/baselines/<method>.json (multimodal) or baselines/<track>/<method>.json, the records
`clear-bench leaderboard` and `transfer` include. Each run is `clear-eval --track T --preset demo --method M`, a cell
of one grid (`clear_bench/grid.py`, as `clear-bench reproduce` runs them: a finished run is reused, a failed one is
reported and the others run, its log in RUNS/logs/M.log), so the flags, run folders and errors are the CLI's. Target and gold models (the visual track: split models) and their
evaluations are cached: each further method costs one unlearning run and one evaluation. Measured on the 2-core
machine: multimodal ~11 min for 13 methods from an empty cache, text ~1.5 min, visual ~1 min.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from clear_bench.cli import run_grid_cell
from clear_bench.grid import ENGINES, Cell, run_grid
from clear_bench.tracks import TRACKS, get_track

BASELINES = Path(__file__).resolve().parent.parent / "clear_bench" / "resources" / "baselines"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--track", required=True, choices=list(TRACKS))
    p.add_argument("--methods", default=None, help="comma-separated (default: every method the track runs)")
    p.add_argument("--runs", default=None, help="folder of the run folders (default: runs/baselines-TRACK)")
    p.add_argument("--attacks", default=None, help="attacks each run's saved model after it (`clear-eval --attacks`): "
                   "the records then carry their attacks block and robust forget metric")
    p.add_argument("--engine", default="sequential", choices=ENGINES, help="sequential (default) or ray: one Ray task "
                   "per method (the ray extra)")
    args = p.parse_args()
    track = get_track(args.track)
    methods = args.methods.split(",") if args.methods else track.method_names()
    dest = BASELINES if track.name == "multimodal" else BASELINES / track.name  # the shipped layout
    runs = Path(args.runs or f"runs/baselines-{track.name}")
    dest.mkdir(parents=True, exist_ok=True)
    cells = [Cell(m, ("--track", track.name, "--preset", "demo", "--method", m, "--out", str((runs / m).resolve()))
                  + (("--attacks", args.attacks) if args.attacks else ()), str((runs / m).resolve()), track.name)
             for m in methods]
    failed = 0
    for result in run_grid(cells, run_grid_cell, runs / "logs", engine=args.engine):
        m, out = result.cell.name, Path(result.cell.out)
        if result.status == "failed":
            print(f"{m}: clear-eval failed: {result.error}", file=sys.stderr)
            failed += 1
            continue
        shutil.copy(out / "submission.json", dest / f"{m}.json")
        print(f"{m}: {dest / f'{m}.json'} ({result.status})", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
