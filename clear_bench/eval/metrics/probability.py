"""Prob: how likely the model finds the true answer (TOFU §3.2 "Probability"; CLEAR paper section 5.1).

Per item, p_i = exp(-NLL_i / |a_i|): the length-normalised (per-token geometric mean) probability of
the answer given image and prompt. Per task:
- caption and free-text QA tasks: Prob = mean_i p_i;
- choice-style tasks (face->name, real faces, real world): Prob = mean_i p_i / (p_i + sum_j q_ij),
  q_ij the same quantity for wrong answer j (perturbed names or distractor options). The loader
  removes the answer from the options, so it is never counted twice.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy.special import logsumexp

from ...errors import ClearBenchError
from ..logs import ItemRecord
from .registry import MetricContext, metric


def item_prob(nll_sum: float, n_tokens: int) -> float:
    """p = exp(-NLL / n): per-token geometric-mean probability of one answer."""
    if n_tokens <= 0:
        raise ClearBenchError(f"token count must be > 0 (got {n_tokens})")
    return float(np.exp(-nll_sum / n_tokens))


def normalized_prob(answer_mean_nll: float, wrong_mean_nlls: Sequence[float]) -> float:
    """p / (p + sum_j q_j) from per-token NLLs, computed in log space so tiny p's do not underflow."""
    if len(wrong_mean_nlls) == 0:
        raise ClearBenchError("the normalised probability needs at least one wrong answer (perturbed/options)")
    logits = -np.asarray([answer_mean_nll, *wrong_mean_nlls], dtype=float)
    return float(np.exp(logits[0] - logsumexp(logits)))


def task_prob(items: Sequence[ItemRecord], normalized: bool) -> float:
    """Prob of one task: mean p_i, or mean p_i / (p_i + sum_j q_ij) if `normalized`."""
    if normalized:
        for r in items:
            if not r.perturbed_nll:
                raise ClearBenchError(f"item {r.item_id!r} of task {r.task!r} has no perturbed answers; "
                                      "the normalised probability needs them")
        values = [normalized_prob(r.answer_mean_nll, r.perturbed_mean_nll) for r in items]
    else:
        values = [float(np.exp(-r.answer_mean_nll)) for r in items]
    return float(np.mean(values))


@metric("prob", higher_is_better={"forget": False, "retain": True, "real": True, "holdout": None}, role="all")
def prob(ctx: MetricContext) -> dict[str, float]:
    """Prob per task: mean exp(-NLL/|a|) on caption/QA tasks, mean p/(p + sum q) on choice tasks
    (TOFU "Probability"; CLEAR `mm/calculate_metrics.py`). Lower is better on forget tasks."""
    return {t.name: task_prob(t.items, t.normalized_prob) for t in ctx.tasks.values()}
