"""Truth Ratio (TOFU, Maini et al. 2024, §3.2; CLEAR paper section 5.1).

Per item i, with per-token NLLs L = NLL/|tokens|:

    R_i = exp(L_para,i - mean_j L_pert,ij) = P̄_pert,i / P_para,i

the per-token (geometric-mean) probability of the perturbed (wrong) answers over that of the
paraphrased (true) answer: TOFU's R_truth. R < 1: the model prefers the truth; R ≈ 1: it cannot
tell true from false; R > 1: it prefers the false answers. The mean over j is taken PER ITEM
(TOFU `aggregate_eval_stat.py`, `mean(-1)`); the CLEAR reference code takes one global mean over
all items and perturbations, a defect (`mm/calculate_metrics.py` of github.com/somvy/multimodal_unlearning).
`reference_global_ratios` reproduces that defect only for comparison.

Per task:
- forget (and holdout) tasks: mean_i min(R_i, 1/R_i), in (0, 1]; higher = closer to indifference
  (TOFU's forget-set statistic).
- retain and real tasks: mean_i max(0, 1 - R_i), in [0, 1); higher = the truth is preferred.

Sign convention: TOFU's code computes ``curr_stat_1 = exp(L_pert - L_para)`` = 1/R and reports
``max(0, 1 - 1/curr_stat_1)``; that is ``max(0, 1 - R)`` with R as defined here. (Written as
"1 - 1/R" with R = P̄_pert/P_para, the expression would reward preferring the false answers.)
Later TOFU code averages the probabilities instead of the log-probabilities over j; we keep the
log-mean of the original code and of TOFU's definition.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ...errors import ClearBenchError
from ..logs import ItemRecord
from .registry import MetricContext, metric

FORGET_FORM_ROLES = ("forget", "holdout")


def item_truth_ratios(para_mean_nll: Sequence[float], pert_mean_nll: Sequence[Sequence[float]]) -> np.ndarray:
    """R_i = exp(L_para,i - mean_j L_pert,ij) per item, from per-token NLLs (per-item mean over j)."""
    para = np.asarray(para_mean_nll, dtype=float)
    if len(pert_mean_nll) != len(para):
        raise ClearBenchError(f"{len(para)} paraphrase losses but {len(pert_mean_nll)} perturbed lists")
    for i, row in enumerate(pert_mean_nll):
        if len(row) == 0:
            raise ClearBenchError(f"item {i} has no perturbed answers; the truth ratio needs at least one")
    pert = np.array([np.mean(row) for row in pert_mean_nll], dtype=float)
    return np.exp(para - pert)


def reference_global_ratios(para_mean_nll: Sequence[float], pert_mean_nll: Sequence[Sequence[float]]) -> np.ndarray:
    """The CLEAR reference's (defective) ratios: one global mean of all perturbed losses for every item.
    For comparison with published numbers only; never used by the registered metrics."""
    para = np.asarray(para_mean_nll, dtype=float)
    pooled = np.mean([x for row in pert_mean_nll for x in row])
    return np.exp(para - pooled)


def truth_ratio_forget(ratios: Sequence[float]) -> float:
    """mean min(R, 1/R) = mean exp(-|log R|): 1 when the model cannot tell true from false."""
    with np.errstate(divide="ignore"):  # R = 0 or inf (under/overflow) -> exp(-inf) = 0, no warning
        log_r = np.log(np.asarray(ratios, dtype=float))
    return float(np.mean(np.exp(-np.abs(log_r))))


def truth_ratio_keep(ratios: Sequence[float]) -> float:
    """mean max(0, 1 - R): near 1 when the true answer is much likelier than the false ones."""
    r = np.asarray(ratios, dtype=float)
    return float(np.mean(np.maximum(0.0, 1.0 - r)))


def task_truth_ratios(items: Sequence[ItemRecord]) -> np.ndarray:
    """Per-item R of one task's records (paraphrase = the answer when the task has none)."""
    for r in items:
        if not r.perturbed_nll:
            raise ClearBenchError(f"item {r.item_id!r} of task {r.task!r} has no perturbed answers; "
                                  "the truth ratio needs them")
    return item_truth_ratios([r.paraphrase_mean_nll for r in items], [r.perturbed_mean_nll for r in items])


@metric("truth_ratio", higher_is_better={"forget": True, "retain": True, "real": True, "holdout": None}, role="all")
def truth_ratio(ctx: MetricContext) -> dict[str, float]:
    """Truth Ratio per task (TOFU §3.2): mean min(R, 1/R) on forget/holdout tasks, mean max(0, 1 - R)
    elsewhere, R_i = exp(L_para,i - mean_j L_pert,ij) with the per-item mean over j."""
    out = {}
    for t in ctx.tasks.values():
        ratios = task_truth_ratios(t.items)
        out[t.name] = truth_ratio_forget(ratios) if t.role in FORGET_FORM_ROLES else truth_ratio_keep(ratios)
    return out


@metric("truth_ratio_keep", higher_is_better={"forget": False, "retain": True, "real": True, "holdout": None},
        role="all")
def truth_ratio_keep_metric(ctx: MetricContext) -> dict[str, float]:
    """mean max(0, 1 - R) on every task: the truth ratio rescaled so that higher = knowledge retained (paper v4
    §5.1), whatever the task's role; on forget tasks it falls as the model forgets (a part of the paper-text
    Forget metric)."""
    return {t.name: truth_ratio_keep(task_truth_ratios(t.items)) for t in ctx.tasks.values()}
