"""Tiny builders of per-item records and task logs for the metric and report tests (no model)."""
from __future__ import annotations

from clear_bench.eval.logs import ItemRecord
from clear_bench.eval.metrics.registry import TaskLog


def rec(item_id: str = "i0", task: str = "t", *, ans: float = 1.0, para: float | None = None,
        pert: tuple[float, ...] = (2.0,), n: int = 2, answer: str = "an answer", **kw) -> ItemRecord:
    """A record from PER-TOKEN NLLs (each variant spans `n` tokens, so sums are value * n)."""
    return ItemRecord(item_id=item_id, task=task, answer=answer, answer_nll=ans * n, answer_tokens=n,
                      paraphrase_nll=None if para is None else para * n,
                      paraphrase_tokens=None if para is None else n,
                      perturbed_nll=[p * n for p in pert], perturbed_tokens=[n] * len(pert), **kw)


def task(name: str, role: str, items, normalized: bool = False, group: str = "") -> TaskLog:
    items = tuple(items)
    return TaskLog(name=name, role=role, items=items, normalized_prob=normalized, group=group)
