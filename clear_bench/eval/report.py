"""Summaries from per-item logs, no model needed (the library side of `clear-bench report`)."""
from __future__ import annotations

import os
from typing import Sequence

from ..errors import ClearBenchError
from .summary import compare_summaries, summarize, summary_markdown


def report(runs: Sequence[str | os.PathLike], gold: str | os.PathLike | None = None,
           names: Sequence[str] | None = None) -> str:
    """Summarise each run folder (writing its summary.json / summary.md) and return the markdown table:
    one run's summary, or several side by side. `names`: only these metrics, each of which must then be
    computable (a `ClearBenchError` says why one is not); None: every registered metric."""
    summaries = [summarize(run, gold, names) for run in runs]
    if names:  # metrics the user asked for by name must be computed, not skipped
        for s in summaries:
            missing = {k: why for k, why in s["skipped"].items() if k.rsplit("/", 1)[-1] in names}
            if missing:
                key, why = next(iter(missing.items()))
                raise ClearBenchError(f"{s['run']}: cannot compute {key}: {why}")
    return summary_markdown(summaries[0]) if len(summaries) == 1 else compare_summaries(summaries)
