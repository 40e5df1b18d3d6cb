"""ROUGE-L recall of the greedy generation against the true answer (TOFU §3.2; CLEAR paper section 5.1).

ROUGE-L recall = LCS(reference tokens, generated tokens) / |reference tokens|, computed by `rouge_score` (a hard
dependency, as in locuslab/tofu `utils.py: eval_rouge_recall`) with ``use_stemmer=True``: lower-case, every run of
non-[a-z0-9] characters is a separator, Porter-stem tokens longer than 3 characters.
"""
from __future__ import annotations

import functools
import logging

import numpy as np

from ...errors import ClearBenchError
from ..logs import ItemRecord
from .registry import MetricContext, metric

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def _scorer():
    try:
        from rouge_score import rouge_scorer
    except ImportError as e:
        raise ClearBenchError("ROUGE-L needs the rouge-score package (a clear-bench dependency): "
                              "pip install rouge-score") from e
    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def rouge_l_recall(reference: str, generation: str) -> float:
    """ROUGE-L recall of `generation` against `reference` (rouge_score, stemmer on; 0 when either is empty)."""
    return float(_scorer().score(reference, generation)["rougeL"].recall)


def item_rouge(record: ItemRecord) -> float | None:
    """The record's ROUGE-L recall: the stored value, else computed from its generation, else None."""
    if record.rouge_l is not None:
        return record.rouge_l
    if record.generation is None:
        return None
    return rouge_l_recall(record.answer, record.generation)


@metric("rouge_l", higher_is_better={"forget": False, "retain": True, "real": True, "holdout": None}, role="all")
def rouge_l(ctx: MetricContext) -> dict[str, float]:
    """Mean ROUGE-L recall per task (rouge_score, use_stemmer=True), for tasks that have generations.
    A task where only some items have a generation is an error, not a silent partial mean."""
    out = {}
    for t in ctx.tasks.values():
        values = [item_rouge(r) for r in t.items]
        missing = [r.item_id for r, v in zip(t.items, values) if v is None]
        if len(missing) == len(values):
            continue
        if missing:
            raise ClearBenchError(f"task '{t.name}': {len(missing)} of {len(values)} items have no generation "
                                  f"(first: {missing[0]!r}); re-run generation for this task")
        out[t.name] = float(np.mean(values))
    return out
