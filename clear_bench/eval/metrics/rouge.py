"""ROUGE-L recall of the greedy generation against the true answer (TOFU §3.2; CLEAR paper section 5.1).

ROUGE-L recall = LCS(reference tokens, generated tokens) / |reference tokens|, tokenised as
`rouge_score` does with ``use_stemmer=True``: lower-case, every run of non-[a-z0-9] characters is a
separator, Porter-stem tokens longer than 3 characters. `rouge_score` is used when installed;
otherwise a pure-Python fallback (same tokeniser, our own NLTK-compatible Porter stemmer, LCS by
dynamic programming) gives the same numbers, so scores made on machines without it (the GPU image)
are comparable.
"""
from __future__ import annotations

import functools
import logging
import re
from typing import Callable, Sequence

import numpy as np

from ...errors import ClearBenchError
from ..logs import ItemRecord
from . import _porter
from .registry import MetricContext, metric

log = logging.getLogger(__name__)

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def tokenize(text: str, stem: bool = True) -> list[str]:
    """rouge_score's default tokenisation (lower-case, split on non-alphanumerics, stem if > 3 letters)."""
    tokens = _NON_ALNUM.sub(" ", text.lower()).split()
    if stem:
        tokens = [_porter.stem(t) if len(t) > 3 else t for t in tokens]
    return tokens


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence (O(|a|·|b|) time, O(|b|) memory)."""
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l_recall_fallback(reference: str, generation: str) -> float:
    """ROUGE-L recall without rouge_score (0 when either side has no tokens, as rouge_score does)."""
    ref, gen = tokenize(reference), tokenize(generation)
    if not ref or not gen:
        return 0.0
    return lcs_length(ref, gen) / len(ref)


@functools.lru_cache(maxsize=1)
def _backend() -> Callable[[str, str], float]:
    try:
        from rouge_score import rouge_scorer
    except ImportError:
        log.info("rouge_score is not installed; using the built-in ROUGE-L (same tokeniser and stemmer)")
        return rouge_l_recall_fallback
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    return lambda reference, generation: float(scorer.score(reference, generation)["rougeL"].recall)


def rouge_l_recall(reference: str, generation: str) -> float:
    """ROUGE-L recall of `generation` against `reference` (rouge_score, stemmer on; fallback if absent)."""
    return _backend()(reference, generation)


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
