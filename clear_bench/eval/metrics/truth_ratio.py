"""Truth Ratio (TOFU, Maini et al. 2024, §3.2; CLEAR paper section 5.1).

Per item i, with per-token NLLs L = NLL/|tokens|:

    R_i = exp(L_para,i - mean_j L_pert,ij) = P̄_pert,i / P_para,i

the per-token (geometric-mean) probability of the perturbed (wrong) answers over that of the
paraphrased (true) answer: TOFU's R_truth. R < 1: the model prefers the truth; R ≈ 1: it cannot
tell true from false; R > 1: it prefers the false answers. The mean over j is taken PER ITEM
(TOFU `aggregate_eval_stat.py`, `mean(-1)`); the CLEAR reference code takes one global mean over
all items and perturbations, a defect (github.com/somvy/multimodal_unlearning `mm/calculate_metrics.py:114-116`,
`dict_values_to_array(average_perturb_loss).mean()` without an axis). `reference_global_ratios` and the
registered `truth_ratio_ref` reproduce that as the reference runs it, to compare with the published tables.

Per task:
- forget (and holdout) tasks: mean_i min(R_i, 1/R_i), in (0, 1]; higher = closer to indifference
  (TOFU's forget-set statistic).
- retain and real tasks: mean_i max(0, 1 - R_i), in [0, 1); higher = the truth is preferred.

Sign convention: TOFU's code computes ``curr_stat_1 = exp(L_pert - L_para)`` = 1/R and reports
``max(0, 1 - 1/curr_stat_1)``; that is ``max(0, 1 - R)`` with R as defined here. (Written as
"1 - 1/R" with R = P̄_pert/P_para, the expression would reward preferring the false answers.)
The mean over j is of the log-probabilities (a geometric mean of the probabilities), as TOFU's code and
OpenUnlearning's (`aggregate_to_1D` of the per-token losses) take it; the paper's text writes an arithmetic mean
of the probabilities.
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
    """The CLEAR reference's ratios as it runs: one global mean of every perturbed loss of the task, for every item
    (somvy/multimodal_unlearning `mm/calculate_metrics.py:114-116`, `.mean()` over items and perturbations).
    Returned in our orientation, R_i = exp(L_para,i - P̄); the reference's own is 1/R (`np.exp(perturbed_loss -
    paraphrase_loss)`, line 116). With ragged perturbation lists (our real tasks drop the answer from the options)
    the reference's `np.array` could not be built; P̄ is then the mean over every perturbed loss."""
    para = np.asarray(para_mean_nll, dtype=float)
    if len(pert_mean_nll) != len(para) or any(len(row) == 0 for row in pert_mean_nll):
        raise ClearBenchError("the reference truth ratio needs one non-empty perturbed list per item")
    pooled = np.mean([x for row in pert_mean_nll for x in row])
    return np.exp(para - pooled)


def task_reference_ratios(items: Sequence[ItemRecord]) -> np.ndarray:
    """`reference_global_ratios` of one task's records (items in their logged order)."""
    task_truth_ratios(items)  # the same checks: every item has perturbed answers
    return reference_global_ratios([r.paraphrase_mean_nll for r in items], [r.perturbed_mean_nll for r in items])


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


@metric("truth_ratio_ref", higher_is_better={"forget": True, "retain": True, "real": True}, role=("forget", "retain", "real"),
        track="multimodal")
def truth_ratio_ref(ctx: MetricContext) -> dict[str, float]:
    """The CLEAR reference's Truth Ratio as it runs (somvy/multimodal_unlearning `mm/calculate_metrics.py:113-123`):
    R from one global mean of the task's perturbed losses; mean min(R, 1/R) on forget tasks (line 119), mean
    max(0, 1 - R) elsewhere (line 121, written there as 1 - 1/R' with R' = 1/R). For the published tables only:
    `truth_ratio` is the per-item (TOFU) version. Holdout tasks, which the reference does not have, are left out."""
    out = {}
    for t in ctx.tasks.values():
        if t.role == "holdout":
            continue
        ratios = task_reference_ratios(t.items)
        out[t.name] = truth_ratio_forget(ratios) if t.role == "forget" else truth_ratio_keep(ratios)
    return out
