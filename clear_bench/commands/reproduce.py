"""`clear-bench reproduce TABLE`: a paper table as a grid of clear-eval runs, our numbers beside the published ones."""
from __future__ import annotations

from pathlib import Path

DESCRIPTION = ("Build the grid of clear-eval runs behind one of the CLEAR paper's tables (table1: the multimodal "
               "methods; table3: text / visual / both modalities; table4: the text track; table5: the visual track; "
               "table2: the cross-track transfer of tables 1, 4 and 5), run it (cells one after another, or on Ray "
               "with --engine ray), then print and write OUT/TABLE-PRESET.md and .json: the table in the paper's "
               "layout with the published values beside ours, and the table's claims, each judged holds / does not "
               "hold on the published values and on this run. Every cell is an ordinary run folder under OUT/runs/: "
               "a finished cell is reused (the same command again takes seconds), an interrupted one resumes, a "
               "failed one is reported and the others go on; its log is OUT/logs/CELL.log.")
REPRODUCTION = "reproduction"  # the run-folder kind of OUT (`runs.claim`)


def add_parser(sub, runner=None) -> None:
    """`runner(cell, log_path) -> exit status` runs one cell (the CLI's `cli.run_grid_cell`: clear-eval in this
    process; this layer does not import the CLI module)."""
    from ..grid import ENGINES
    from ..reproduce import TABLE_NAMES

    p = sub.add_parser("reproduce", help="run the grid behind one of the paper's tables and compare with the "
                                         "published values", description=DESCRIPTION)
    p.add_argument("table", metavar="TABLE", help=", ".join(TABLE_NAMES) + " (table2 = transfer)")
    p.add_argument("--preset", default="demo", help="demo (default: offline, tiny models, CPU) or paper (the Hub's "
                   "data and the paper's models, GPUs)")
    p.add_argument("--forget", type=int, default=10, metavar="PERCENT", help="forget-set size: 1, 5 or 10 "
                   "(default: 10, the paper's tables)")
    p.add_argument("--methods", default=None, metavar="M,...",
                   help="comma-separated methods (default: the table's rows that clear-bench runs)")
    p.add_argument("--model", default=None, help="base model of the LM tracks' cells (default: the preset's)")
    p.add_argument("--out", default="reproduce", help="folder of the tables, runs/ and logs/ (default: reproduce)")
    p.add_argument("--engine", default="sequential", choices=ENGINES,
                   help="sequential (default: one cell after another, in this process) or ray (one Ray task per "
                        "cell; the ray extra)")
    p.add_argument("--address", default=None, help="with --engine ray: the cluster's address (default: start a "
                   "local Ray instance)")
    p.add_argument("--cpus-per-cell", type=float, default=1, help="CPUs Ray reserves per cell (default: 1)")
    p.add_argument("--gpus-per-cell", type=float, default=None,
                   help="GPUs Ray reserves per cell (default: 1 on the paper preset, 0 on the demo)")
    p.add_argument("--retries", type=int, default=0, help="rerun a failed cell up to this many times (default: 0)")
    p.add_argument("--dry-run", action="store_true", help="print the cells, their count and the estimated GPU-hours; "
                   "run nothing")
    p.add_argument("--form", default="reference", choices=("reference", "paper-text"),
                   help="which of our metric forms stand beside the published values: reference (default: the "
                   "reference code's *_ref forms, which made the published tables) or paper-text (the formulas of "
                   "the paper's text)")
    p.add_argument("--unit-costs", default=None, metavar="FILE", help="with --dry-run: unit costs measured by "
                   "benchmarks/estimate_paper_run.py --json FILE, for the GPU-hours estimate")
    p.set_defaults(func=cmd_reproduce, runner=runner)


def cmd_reproduce(args) -> int:
    from .. import grid, runs
    from .. import reproduce as rp
    from ..data.schema import check_forget
    from ..errors import ClearBenchError
    from ..utils import atomic_write_json, atomic_write_text

    table = rp.check_table(args.table)
    check_forget(args.forget)
    if args.preset not in ("demo", "paper"):
        raise ClearBenchError(f"--preset must be demo or paper (got {args.preset!r})")
    if args.retries < 0:
        raise ClearBenchError(f"--retries must be >= 0 (got {args.retries})")
    if args.unit_costs and not args.dry_run:
        raise ClearBenchError("--unit-costs is for --dry-run's estimate")
    if args.engine == "ray":
        grid.require_ray()  # one line naming the extra, before any work
    out = Path(args.out)
    setting = rp.Setting(preset=args.preset, forget=args.forget, root=out, model=args.model,
                         cpus=args.cpus_per_cell, gpus=args.gpus_per_cell, form=args.form)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()] if args.methods else None
    cells = rp.cells(table, setting, methods)
    if args.dry_run:
        print(grid.plan(cells, grid.load_units(args.unit_costs) if args.unit_costs else None))
        return 0
    folder = runs.claim(out, REPRODUCTION, {}).start()  # never a user's folder; ours is resumed
    results = grid.run_grid(cells, args.runner, out / "logs", engine=args.engine, address=args.address,
                            retries=args.retries, progress=True)
    transfer = why = None
    if table == "table2":  # the table is written even when the ranking cannot be computed (failed cells): "–"
        ours, transfer, why = rp.transfer_values(results)
    else:
        ours = rp.values(table, results, args.form)
    claims = rp.claims(table, ours)
    base = next((r.record["model"].get("base") for r in results if r.record), None)
    text = rp.render(table, ours, setting, base, transfer, claims)
    stem = out / f"{table}-{args.preset}" if args.forget == 10 else out / f"{table}-{args.preset}-forget{args.forget:02d}"
    if args.form != "reference":
        stem = stem.with_name(f"{stem.name}-{args.form}")
    atomic_write_text(stem.with_suffix(".md"), text)
    atomic_write_json(stem.with_suffix(".json"), {
        "table": table, "preset": args.preset, "forget": args.forget, "form": args.form, "base_model": base,
        "values": [{"row": row, "group": group, "column": col, "ours": v,
                    "published": rp.published_values(table).get((row, group), {}).get(col),
                    "source": rp.published.source(table, row, col, group)}
                   for (row, group), cols in ours.items() for col, v in cols.items()],
        "claims": claims, "cells": [r.as_json() for r in results],
        "note": rp.DEMO_NOTE if args.preset != "paper" else None})
    folder.finish()
    print(text)
    counts = {s: sum(r.status == s for r in results) for s in ("done", "reused", "failed")}
    print(f"{len(results)} cells: {counts['done']} run, {counts['reused']} reused, {counts['failed']} failed; "
          f"written: {stem.with_suffix('.md')}, {stem.with_suffix('.json')}")
    if why:
        print(f"no transfer ranking: {why}")
    for r in results:
        if r.status == "failed":
            print(f"failed: {r.cell.name}: {r.error}")
    return 1 if counts["failed"] else 0
