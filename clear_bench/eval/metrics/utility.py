"""Model Utility and the paper's table metrics: harmonic means of per-task values.

- Model Utility (TOFU §3.3, CLEAR `compute_model_utility`): harmonic mean of the non-forget values,
  Prob, Truth Ratio and ROUGE-L of each retain and real task: the paper's 12 values over retain
  captions, retain face->name, real faces and real world (`model_utility`), so that it compares with
  the paper whatever else the run evaluated; `model_utility_all` also takes in every other retain
  task in the run (TOFU retain QA).
- Paper table, as the paper's text defines it (v4 §5.1, "the harmonic mean of ROUGE, Probability and Truth
  Ratio", the truth ratio "rescaled so that higher = knowledge retained"): Forget / Retain / Real metric =
  harmonic mean of ROUGE-L, Prob and max(0, 1 - R) (`truth_ratio_keep`) over the two forget tasks / the two
  retain tasks / real faces + real world. Every part falls as a model forgets, so the Forget metric is
  lower-is-better and monotonic. This is what results, summaries and the leaderboard show.
- Paper table, as the reference code runs it (github.com/somvy/multimodal_unlearning `mm/build_vllm_table.py:73-100`
  over the values of `mm/calculate_metrics.py:88-128`): `forget_metric_ref` / `retain_metric_ref` /
  `real_metric_ref` = harmonic mean of (Prob, `truth_ratio_ref`) over the split's two tasks, the truth ratio from
  the reference's global mean of the perturbed losses, no ROUGE; `model_utility_ref` = its `Model Utility`
  (`mm/calculate_metrics.py:126`: hmean of the 12 non-forget Prob / ROUGE / global-mean TR values). These are the
  numbers the published Tables 1, 3 and 6 were built with. The forget version mixes Prob (falls when forgotten)
  with min(R, 1/R) (rises when forgotten): a model that remembers strongly has R ~ 0 and scores ~ 0 like one that
  forgot. It carries the direction the published Table 1 gives its Forget column (↓), so rankings by it are the
  paper's; it is not monotonic in forgetting.
- The same formulas with TOFU's per-item truth ratio (`forget_metric_prob_tr`, `retain_metric_prob_tr`,
  `real_metric_prob_tr`): the reference's table formula without its global-mean defect (not the published numbers).

Harmonic mean: n / sum(1/v) as `scipy.stats.hmean`, except that any zero gives exactly 0 (the
limit; a model that fails one task entirely has no utility) and a negative value is an error.
"""
from __future__ import annotations

import math
from typing import Iterable

from ...errors import ClearBenchError
from .registry import MetricContext, metric

UTILITY_PARTS = ("prob", "truth_ratio", "rouge_l")
TABLE_PARTS = ("rouge_l", "prob", "truth_ratio_keep")  # the paper's text (v4 §5.1)
TABLE_PARTS_REF = ("prob", "truth_ratio_ref")  # the reference code's table script, as it runs
TABLE_PARTS_PROB_TR = ("prob", "truth_ratio")  # its formula on the per-item truth ratio
UTILITY_PARTS_REF = ("prob", "truth_ratio_ref", "rouge_l")
TABLE_TASKS = {
    "forget_metric": ("forget_captions", "forget_facerec"),
    "retain_metric": ("retain_captions", "retain_facerec"),
    "real_metric": ("real_faces", "real_world"),
}


def harmonic_mean(values: Iterable[float]) -> float:
    """n / sum(1/v); 0 if any value is 0. Raises on an empty input, a negative value or NaN."""
    vals = [float(v) for v in values]
    if not vals:
        raise ClearBenchError("harmonic mean of no values")
    if any(math.isnan(v) or v < 0 for v in vals):
        raise ClearBenchError(f"harmonic mean needs non-negative numbers, got {vals}")
    if any(v == 0 for v in vals):
        return 0.0
    return len(vals) / sum(1.0 / v for v in vals)


def _gather(ctx: MetricContext, metrics: tuple[str, ...], tasks: Iterable[str], what: str) -> list[float]:
    values = []
    for task in tasks:
        for name in metrics:
            per_task = ctx.result(name)
            if task not in per_task:
                raise ClearBenchError(f"{what} needs '{name}' on task '{task}', which this run lacks"
                                      + (" (no generations)" if name == "rouge_l" and task in ctx.tasks else ""))
            values.append(per_task[task])
    return values


PAPER_UTILITY_TASKS = TABLE_TASKS["retain_metric"] + TABLE_TASKS["real_metric"]


@metric("model_utility", higher_is_better=True, role=("retain", "real"), needs=UTILITY_PARTS, track="multimodal")
def model_utility(ctx: MetricContext) -> float:
    """Harmonic mean of Prob, Truth Ratio and ROUGE-L over the paper's retain and real tasks (retain
    captions, retain face->name, real faces, real world: 12 values). A zero anywhere gives 0."""
    missing = [t for t in PAPER_UTILITY_TASKS if t not in ctx.tasks]
    if missing:
        raise ClearBenchError(f"model_utility needs the paper's retain and real tasks; this run lacks "
                              f"{', '.join(missing)} (model_utility_all takes whatever the run has)")
    return harmonic_mean(_gather(ctx, UTILITY_PARTS, PAPER_UTILITY_TASKS, "model_utility"))


@metric("model_utility_all", higher_is_better=True, role=("retain", "real"), needs=UTILITY_PARTS,
        track="multimodal")
def model_utility_all(ctx: MetricContext) -> float:
    """Harmonic mean of Prob, Truth Ratio and ROUGE-L over every retain and real task in the run (the
    paper's four, plus TOFU retain QA when evaluated). A zero anywhere gives 0."""
    tasks = [t.name for t in ctx.by_role("retain", "real")]
    if not tasks:
        raise ClearBenchError("model_utility_all needs at least one retain or real task in the run")
    return harmonic_mean(_gather(ctx, UTILITY_PARTS, tasks, "model_utility_all"))


def _table_metric(name: str, tasks: tuple[str, ...], parts: tuple[str, ...]):
    def fn(ctx: MetricContext) -> float:
        return harmonic_mean(_gather(ctx, parts, tasks, name))

    return fn


@metric("model_utility_ref", higher_is_better=True, role=("retain", "real"), needs=UTILITY_PARTS_REF,
        track="multimodal")
def model_utility_ref(ctx: MetricContext) -> float:
    """The CLEAR reference's Model Utility as it runs (`mm/calculate_metrics.py:126`): harmonic mean of Prob, ROUGE-L
    and the global-mean Truth Ratio (`truth_ratio_ref`) of the four retain and real tasks (12 values)."""
    missing = [t for t in PAPER_UTILITY_TASKS if t not in ctx.tasks]
    if missing:
        raise ClearBenchError(f"model_utility_ref needs the paper's retain and real tasks; this run lacks "
                              f"{', '.join(missing)}")
    return harmonic_mean(_gather(ctx, UTILITY_PARTS_REF, PAPER_UTILITY_TASKS, "model_utility_ref"))


def _register_table_metrics() -> None:
    roles = {"forget_metric": "forget", "retain_metric": "retain", "real_metric": "real"}
    for name, tasks in TABLE_TASKS.items():
        title, on = name.replace("_", " "), " and ".join(tasks)
        fn = _table_metric(name, tasks, TABLE_PARTS)
        fn.__name__ = name
        fn.__doc__ = (f"Paper table {title.title()} (paper v4 §5.1): harmonic mean of ROUGE-L, "
                      f"Prob and max(0, 1 - R) on {on}; falls as the model forgets.")
        metric(name, higher_is_better=(name != "forget_metric"), role=roles[name], needs=TABLE_PARTS,
               track="multimodal")(fn)
        caveat = ("; ↓ as the published Table 1 reads it, though not monotonic in forgetting."
                  if name == "forget_metric" else ".")
        for suffix, parts, doc in (
                ("_ref", TABLE_PARTS_REF,
                 f"The reference code's {title} as it runs (`mm/build_vllm_table.py:73-100`, the published Tables "
                 f"1, 3, 6): harmonic mean of Prob and the global-mean Truth Ratio (`truth_ratio_ref`) on {on}"),
                ("_prob_tr", TABLE_PARTS_PROB_TR,
                 f"The reference's {title} formula on the per-item truth ratio (not its published number): "
                 f"harmonic mean of Prob and the role's Truth Ratio on {on}")):
            ref = _table_metric(name + suffix, tasks, parts)
            ref.__name__, ref.__doc__ = name + suffix, doc + caveat
            metric(name + suffix, higher_is_better=name != "forget_metric", role=roles[name], needs=parts,
                   track="multimodal")(ref)


_register_table_metrics()
