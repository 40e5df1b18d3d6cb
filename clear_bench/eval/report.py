"""`clear-bench report RUN [RUN ...] [--gold GOLD]`: summaries from per-item logs, no model needed."""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

from ..errors import ClearBenchError
from .summary import SUMMARY_JSON, SUMMARY_MD, compare_summaries, summarize, summary_markdown



def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="clear-bench report",
        description="Compute every metric from evaluation run folders (per-item logs), write "
                    f"{SUMMARY_JSON} and {SUMMARY_MD} into each, and print a markdown table "
                    "(several runs: side by side). Directions: ↑ higher is better, ↓ lower, →x closer to x.")
    p.add_argument("runs", nargs="+", metavar="RUN", help="evaluation run folder(s) holding <task>.jsonl logs")
    p.add_argument("--gold", metavar="GOLD_RUN", help="the gold model's run folder (model fine-tuned on the "
                   "retain set only): enables forget quality and PrivLeak")
    p.add_argument("--metrics", metavar="NAMES", help="comma-separated metric names (default: all registered)")
    return p


def report_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `clear-bench report`; returns the exit status (errors: one line, status 1)."""
    args = build_parser().parse_args(argv)
    names = [n.strip() for n in args.metrics.split(",") if n.strip()] if args.metrics else None
    try:
        summaries = [summarize(run, args.gold, names) for run in args.runs]
        text = summary_markdown(summaries[0]) if len(summaries) == 1 else compare_summaries(summaries)
    except ClearBenchError as e:
        sys.stderr.write(f"error: {e}\n")
        return 1
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sys.exit(report_main())
