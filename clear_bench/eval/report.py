"""Summaries from per-item logs, no model needed (the library side of `clear-bench report`).

`report` refreshes each run's summary.json / summary.md unless that would drop a metric they hold (e.g. the
gold-based ones, recomputed without the gold run): those files are then kept as they were, and a summary.json
that clear-bench did not write is never touched.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Sequence

from ..errors import ClearBenchError
from ..utils import atomic_write_json, atomic_write_text
from .summary import SUMMARY_JSON, SUMMARY_MD, compare_summaries, summarize, summary_markdown

log = logging.getLogger(__name__)


def report(runs: Sequence[str | os.PathLike], gold: str | os.PathLike | None = None,
           names: Sequence[str] | None = None) -> str:
    """Summarise each run folder and return the markdown table: one run's summary, or several side by side.
    `names`: only these metrics, each of which must then be computable (a `ClearBenchError` says why one is
    not); None: every registered metric. Each run's summary files are refreshed where nothing is lost."""
    summaries = [summarize(run, gold, names, write=False) for run in runs]
    if names:  # metrics the user asked for by name must be computed, not skipped
        for s in summaries:
            missing = {k: why for k, why in s["skipped"].items() if k.rsplit("/", 1)[-1] in names}
            if missing:
                key, why = next(iter(missing.items()))
                raise ClearBenchError(f"{s['run']}: cannot compute {key}: {why}")
    for run, summary in zip(runs, summaries):
        _refresh(Path(run), summary)
    return summary_markdown(summaries[0]) if len(summaries) == 1 else compare_summaries(summaries)


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
