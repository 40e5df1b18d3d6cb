"""`clear-bench report RUN [RUN ...] [--gold GOLD]`: summaries from per-item logs, no model needed."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Sequence

from ..errors import ClearBenchError
from ..utils import atomic_write_json, atomic_write_text
from .summary import SUMMARY_JSON, SUMMARY_MD, compare_summaries, summarize, summary_markdown

log = logging.getLogger(__name__)

DESCRIPTION = ("Compute every metric from evaluation run folders (per-item logs), print a markdown table "
               f"(several runs: side by side), and refresh each run's {SUMMARY_JSON} and {SUMMARY_MD} unless that "
               "would drop a metric they hold (e.g. the gold-based ones, without --gold): those are kept as they "
               "were. Directions: ↑ higher is better, ↓ lower, →x closer to x.")


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
    summaries = [summarize(run, args.gold, names, write=False) for run in args.runs]
    if names:  # metrics the user asked for by name must be computed, not skipped
        for s in summaries:
            missing = {k: why for k, why in s["skipped"].items() if k.rsplit("/", 1)[-1] in names}
            if missing:
                key, why = next(iter(missing.items()))
                raise ClearBenchError(f"{s['run']}: cannot compute {key}: {why}")
    for run, summary in zip(args.runs, summaries):
        _refresh(Path(run), summary)
    text = summary_markdown(summaries[0]) if len(summaries) == 1 else compare_summaries(summaries)
    sys.stdout.write(text)
    return 0


def _refresh(run: Path, summary: dict) -> bool:
    """Write the run's summary files, unless the summary.json there is not ours or holds a metric (a value)
    that this one lacks: what `report` cannot recompute (without --gold, or with --metrics) is never destroyed."""
    path = run / SUMMARY_JSON
    if path.exists():
        try:
            old = json.loads(path.read_text())
        except (OSError, ValueError):
            old = None
        if not (isinstance(old, dict) and isinstance(old.get("metrics"), dict)
                and "clear_bench" in (old.get("library_versions") or {})):
            log.warning("%s is not a clear-bench summary: left as it is (the table is printed only)", path)
            return False
        lost = sorted(k for k, v in old["metrics"].items()
                      if isinstance(v, dict) and v.get("value") is not None
                      and (summary["metrics"].get(k) or {}).get("value") is None)
        if lost:
            log.warning("kept %s as it was: recomputing it here would drop %d metric(s) it holds (%s%s); pass "
                        "--gold (and no --metrics) to refresh it", path, len(lost), ", ".join(lost[:3]),
                        ", ..." if len(lost) > 3 else "")
            return False
    atomic_write_json(path, summary)
    atomic_write_text(run / SUMMARY_MD, summary_markdown(summary))
    return True


def report_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `clear-bench report`; returns the exit status (user errors: one line, status 2)."""
    from ..cli import _setup_logging, run_safely

    args = build_parser().parse_args(argv)
    _setup_logging()
    return run_safely(lambda: cmd_report(args))


if __name__ == "__main__":
    sys.exit(report_main())
