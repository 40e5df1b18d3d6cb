"""`clear-bench report RUN [RUN ...] [--gold GOLD]`: summaries from per-item logs, no model needed."""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from ..errors import ClearBenchError
from .summary import SUMMARY_JSON, SUMMARY_MD, compare_summaries, summarize, summary_markdown

DESCRIPTION = ("Compute every metric from evaluation run folders (per-item logs), write "
               f"{SUMMARY_JSON} and {SUMMARY_MD} into each, and print a markdown table "
               "(several runs: side by side). Directions: ↑ higher is better, ↓ lower, →x closer to x.")


def add_report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", metavar="RUN", help="evaluation run folder(s) holding <task>.jsonl logs")
    p.add_argument("--gold", metavar="GOLD_RUN", help="the gold model's run folder (model fine-tuned on the "
                   "retain set only): enables forget quality and PrivLeak")
    p.add_argument("--metrics", metavar="NAMES", help="comma-separated metric names (default: all registered)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="clear-bench report", description=DESCRIPTION)
    add_report_args(p)
    return p


def cmd_report(args) -> int:
    """Run `clear-bench report` from parsed arguments; user errors raise `ClearBenchError`."""
    names = [n.strip() for n in args.metrics.split(",") if n.strip()] if args.metrics else None
    summaries = [summarize(run, args.gold, names) for run in args.runs]
    if names:  # metrics the user asked for by name must be computed, not skipped
        for s in summaries:
            missing = {k: why for k, why in s["skipped"].items() if k.rsplit("/", 1)[-1] in names}
            if missing:
                key, why = next(iter(missing.items()))
                raise ClearBenchError(f"{s['run']}: cannot compute {key}: {why}")
    text = summary_markdown(summaries[0]) if len(summaries) == 1 else compare_summaries(summaries)
    sys.stdout.write(text)
    return 0


def report_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `clear-bench report`; returns the exit status (user errors: one line, status 2)."""
    from ..cli import _setup_logging, run_safely

    args = build_parser().parse_args(argv)
    _setup_logging()
    return run_safely(lambda: cmd_report(args))


if __name__ == "__main__":
    sys.exit(report_main())
