"""Forget Quality: how close the unlearned model's truth ratios on forget data are to those of the
gold model (fine-tuned without the forget persons). Per forget task present in both runs.

- KS (TOFU §3.3, CLEAR paper-era "Forget Quality"): the p-value of the two-sample
  Kolmogorov–Smirnov test (`scipy.stats.ks_2samp`, default two-sided/'auto') between the per-item
  R of the unlearned model and of the gold model. High p: indistinguishable from gold. KS only
  uses ranks, so it is the same on R, 1/R or log R.
- JS (what the CLEAR reference's later tables call Forget Quality): 1 − Jensen–Shannon distance.
  The reference compares the two R *vectors* item by item as if they were distributions over
  item index (a defect of the reference's `mm/calculate_metrics.py`); we compare their *distributions*:
  histograms of log R (symmetric around "no preference", tames R's long right tail) over shared
  equal-width bins spanning the pooled range of both samples, each histogram normalised to sum 1,
  JS distance with base 2 so that it lies in [0, 1] and 1 − JS too (the reference used natural log).
  1 = identical histograms, 0 = disjoint support.
  Bins: Sturges' rule on the smaller sample, k = ⌈log2 n⌉ + 1, at most 20 (`js_bins`). A fixed 20 bins
  is degenerate for small n: 6 items against 6 in 20 bins rarely share a bin, so two samples from one
  distribution (KS p = 1) scored 1 − JS = 0 (tests/test_metrics_forget_quality.py has that case).
- log Forget Quality (`log_forget_quality`): ln of the KS p-value, the column of the paper's text-only
  Table 4 (0 is best; p is floored at the smallest positive double so that it stays finite).

- Reference as it runs (`forget_quality_ks_ref`, `forget_quality_js_ref`): what the CLEAR reference computes
  (somvy/multimodal_unlearning `mm/calculate_metrics.py:51-72`), to compare with the published tables: the
  truth ratios R'_i = exp(P̄ - L_para,i) with P̄ ONE global mean of the task's perturbed losses (lines 57-65; 1/R
  in our orientation), then `ks_2samp` of the two R' samples (line 70) and 1 − `jensenshannon(R'_unlearned,
  R'_gold)` (line 71; `mm/build_vllm_table.py:103`): the two vectors normalised to sum 1 and compared item by
  item as distributions over item index, natural log. Items are paired by id (the reference pairs them by
  position in two evaluations of the same items).
- Item-paired JS with the per-item truth ratio (`forget_quality_js_paired`): the reference's JS formula on
  TOFU's per-item R. Neither reference number nor a distribution comparison: kept to separate the two defects
  (global mean, item pairing) when comparing with the reference.

The paper's table reads the forget *caption* task ("forget_captions/forget_quality_*").
"""
from __future__ import annotations

import math
import sys
from typing import Sequence

import numpy as np
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp

from ...errors import ClearBenchError
from .registry import MetricContext, metric
from .truth_ratio import task_reference_ratios, task_truth_ratios

MAX_JS_BINS = 20


def _check(a: Sequence[float], b: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size == 0 or b.size == 0:
        raise ClearBenchError(f"forget quality needs truth ratios from both runs (got {a.size} and {b.size} items)")
    return a, b


def ks_forget_quality(ratios_unlearned: Sequence[float], ratios_gold: Sequence[float]) -> float:
    """KS two-sample p-value between per-item truth ratios of the unlearned and the gold model."""
    a, b = _check(ratios_unlearned, ratios_gold)
    return float(ks_2samp(a, b).pvalue)


def js_bins(n_a: int, n_b: int, max_bins: int = MAX_JS_BINS) -> int:
    """Sturges' rule on the smaller sample: ⌈log2 n⌉ + 1 bins, at most `max_bins` (1 item: 1 bin)."""
    n = min(n_a, n_b)
    return max(1, min(max_bins, math.ceil(math.log2(n)) + 1)) if n > 1 else 1


def shared_bin_edges(x: np.ndarray, y: np.ndarray, bins: int = MAX_JS_BINS) -> np.ndarray:
    """`bins` equal-width bins over the pooled range of x and y (one bin if all values are equal)."""
    lo, hi = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
    if not np.isfinite(lo) or not np.isfinite(hi):
        raise ClearBenchError("truth ratios must be finite and positive to bin them")
    if lo == hi:
        return np.array([lo - 0.5, hi + 0.5])
    return np.linspace(lo, hi, bins + 1)


def js_forget_quality(ratios_unlearned: Sequence[float], ratios_gold: Sequence[float],
                      bins: int | None = None) -> float:
    """1 − JS distance (base 2) between histograms of log R over shared equal-width bins (`js_bins` of them
    unless `bins` is given)."""
    a, b = _check(ratios_unlearned, ratios_gold)
    la, lb = np.log(a), np.log(b)
    edges = shared_bin_edges(la, lb, bins or js_bins(a.size, b.size))
    ha, _ = np.histogram(la, bins=edges)
    hb, _ = np.histogram(lb, bins=edges)
    distance = jensenshannon(ha / ha.sum(), hb / hb.sum(), base=2)
    return float(1.0 - distance)


def _paired_forget_tasks(ctx: MetricContext):
    golds = ctx.matched_gold()
    for task in ctx.by_role("forget"):
        gold = golds.get(task.name)
        if gold is not None:
            yield task, gold


@metric("forget_quality_ks", higher_is_better=True, role="forget", needs=("gold",))
def forget_quality_ks(ctx: MetricContext) -> dict[str, float]:
    """KS p-value between unlearned and gold per-item truth ratios, per forget task (TOFU's Forget
    Quality; the paper's headline is the forget caption task)."""
    return {t.name: ks_forget_quality(task_truth_ratios(t.items), task_truth_ratios(g.items))
            for t, g in _paired_forget_tasks(ctx)}


@metric("forget_quality_js", higher_is_better=True, role="forget", needs=("gold",))
def forget_quality_js(ctx: MetricContext) -> dict[str, float]:
    """1 − Jensen–Shannon distance (base 2) between histograms of log R of the unlearned and the gold
    model over shared bins (Sturges' rule), per forget task (CLEAR HEAD tables' Forget Quality, without its
    item-index defect)."""
    return {t.name: js_forget_quality(task_truth_ratios(t.items), task_truth_ratios(g.items))
            for t, g in _paired_forget_tasks(ctx)}


@metric("log_forget_quality", higher_is_better=True, role="forget", needs=("gold", "forget_quality_ks"),
        bounds=(None, 0.0))
def log_forget_quality(ctx: MetricContext) -> dict[str, float]:
    """ln(KS p-value) per forget task: the paper's text-only Table 4 column "Log Forget Quality" (0 is best)."""
    return {task: math.log(max(p, sys.float_info.min)) for task, p in ctx.result("forget_quality_ks").items()}


def js_forget_quality_reference(ratios_unlearned: Sequence[float], ratios_gold: Sequence[float]) -> float:
    """The reference's 1 − JS formula (`mm/calculate_metrics.py:71`): the two vectors of P_para/P_pert (1/R here),
    paired item by item, each normalised to sum 1 as a distribution over item index, JS distance in nats."""
    a, b = _check(ratios_unlearned, ratios_gold)
    if a.size != b.size:
        raise ClearBenchError(f"the reference's JS pairs items: {a.size} vs {b.size} truth ratios")
    return float(1.0 - jensenshannon(1.0 / a, 1.0 / b))


def _paired(task, gold, ratios) -> tuple[np.ndarray, np.ndarray]:
    """`ratios(items)` of the run and of the gold run, the gold's in the run's item order (paired by id)."""
    gold_by_id = dict(zip((r.item_id for r in gold.items), ratios(gold.items)))
    return ratios(task.items), np.array([gold_by_id[r.item_id] for r in task.items])


@metric("forget_quality_js_paired", higher_is_better=True, role="forget", needs=("gold",))
def forget_quality_js_paired(ctx: MetricContext) -> dict[str, float]:
    """1 − JS between the per-item truth-ratio vectors of the run and the gold run paired by item id (the
    reference's JS formula on TOFU's per-item R; not the reference's number, which is `forget_quality_js_ref`)."""
    return {t.name: js_forget_quality_reference(*_paired(t, g, task_truth_ratios)) for t, g in _paired_forget_tasks(ctx)}


@metric("forget_quality_js_ref", higher_is_better=True, role="forget", needs=("gold",), track="multimodal")
def forget_quality_js_ref(ctx: MetricContext) -> dict[str, float]:
    """The CLEAR reference's Forget Quality as it runs (`mm/calculate_metrics.py:51-72`, `mm/build_vllm_table.py:103`,
    the published Tables 1, 3, 6): 1 − JS between the global-mean truth-ratio vectors paired by item id."""
    return {t.name: js_forget_quality_reference(*_paired(t, g, task_reference_ratios))
            for t, g in _paired_forget_tasks(ctx)}


@metric("forget_quality_ks_ref", higher_is_better=True, role="forget", needs=("gold",), track="multimodal")
def forget_quality_ks_ref(ctx: MetricContext) -> dict[str, float]:
    """The CLEAR reference's KS p-value as it runs (`mm/calculate_metrics.py:70`, its paper-era Forget Quality):
    `ks_2samp` of the global-mean truth ratios of the run and the gold run."""
    return {t.name: ks_forget_quality(task_reference_ratios(t.items), task_reference_ratios(g.items))
            for t, g in _paired_forget_tasks(ctx)}
