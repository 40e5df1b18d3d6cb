"""The text-only track's table metrics (CLEAR Table 4: TOFU on a causal LM), over the text tasks
(`eval/tasks.py: TEXT_TASKS`): forget / retain QA, real authors, world facts.

- `text_model_utility` (TOFU §3.3): harmonic mean of Prob, Truth Ratio and ROUGE-L on retain QA,
  real authors and world facts: TOFU's nine values. Truth Ratio here is max(0, 1 - R) (retained
  knowledge), Prob on real authors / world facts is normalised over the options.
- `text_real_metric` / `text_retain_metric` / `text_forget_metric` (CLEAR §5.1, "harmonic mean of
  ROUGE, Probability and Truth Ratio" on the split): harmonic mean of ROUGE-L, Prob and the
  retained-knowledge truth ratio max(0, 1 - R) of the split's tasks. On the forget split that is
  knowledge the model still has: lower is better (the paper's Forget column).
- `text_log_forget_quality` (Table 4's "Log Forget Quality"): ln of the KS p-value between the truth
  ratios of the unlearned and the gold model on forget QA (0 = indistinguishable from gold). The KS
  p-value and 1 - JS themselves are the per-task `text_forget/forget_quality_ks` / `_js`.
"""
from __future__ import annotations

import math

from ...errors import ClearBenchError
from .forget_quality import ks_forget_quality
from .registry import MetricContext, metric
from .truth_ratio import task_truth_ratios, truth_ratio_keep
from .utility import harmonic_mean

FORGET, RETAIN = "text_forget", "text_retain"
REAL = ("text_real_authors", "text_world_facts")
UTILITY_TASKS = (RETAIN, *REAL)
SPLITS = {"text_forget_metric": (FORGET,), "text_retain_metric": (RETAIN,), "text_real_metric": REAL}
PARTS = ("prob", "truth_ratio", "rouge_l")


def _need(ctx: MetricContext, tasks, what: str) -> None:
    missing = [t for t in tasks if t not in ctx.tasks]
    if missing:
        raise ClearBenchError(f"{what} needs the text-track task(s) {', '.join(missing)}, which this run lacks")


def _value(ctx: MetricContext, name: str, task: str, what: str) -> float:
    per_task = ctx.result(name)
    if task not in per_task:
        raise ClearBenchError(f"{what} needs '{name}' on task '{task}'"
                              + (" (the run has no generations)" if name == "rouge_l" else ""))
    return per_task[task]


@metric("text_model_utility", higher_is_better=True, role=("retain", "real"), needs=PARTS, track="text")
def text_model_utility(ctx: MetricContext) -> float:
    """TOFU Model Utility: harmonic mean of Prob, Truth Ratio (max(0, 1 - R)) and ROUGE-L on retain QA, real
    authors and world facts (nine values). A zero anywhere gives 0."""
    _need(ctx, UTILITY_TASKS, "text_model_utility")
    return harmonic_mean(_value(ctx, n, t, "text_model_utility") for t in UTILITY_TASKS for n in PARTS)


def split_metric(ctx: MetricContext, name: str) -> float:
    """Harmonic mean of ROUGE-L, Prob and max(0, 1 - R) over the split's tasks (3 values per task)."""
    tasks = SPLITS[name]
    _need(ctx, tasks, name)
    values = []
    for t in tasks:
        values += [_value(ctx, "rouge_l", t, name), _value(ctx, "prob", t, name),
                   truth_ratio_keep(task_truth_ratios(ctx.tasks[t].items))]
    return harmonic_mean(values)


def _register_split_metrics() -> None:
    roles = {"text_forget_metric": "forget", "text_retain_metric": "retain", "text_real_metric": "real"}
    for name, tasks in SPLITS.items():
        def fn(ctx: MetricContext, name=name) -> float:
            return split_metric(ctx, name)

        fn.__name__ = name
        fn.__doc__ = (f"CLEAR Table 4 {roles[name].title()} metric: harmonic mean of ROUGE-L, Prob and the "
                      f"retained-knowledge truth ratio max(0, 1 - R) on {' and '.join(tasks)}.")
        metric(name, higher_is_better=(name != "text_forget_metric"), role=roles[name], needs=("prob", "rouge_l"),
               track="text")(fn)


_register_split_metrics()


@metric("text_log_forget_quality", higher_is_better=True, role="forget", needs=("gold",), track="text",
        bounds=(None, 0.0))
def text_log_forget_quality(ctx: MetricContext) -> float:
    """ln of the KS p-value between the unlearned and the gold model's truth ratios on forget QA (CLEAR
    Table 4's Log Forget Quality; 0 is best)."""
    gold = ctx.matched_gold()
    _need(ctx, (FORGET,), "text_log_forget_quality")
    if FORGET not in gold:
        raise ClearBenchError(f"text_log_forget_quality needs the gold run's '{FORGET}' log")
    p = ks_forget_quality(task_truth_ratios(ctx.tasks[FORGET].items), task_truth_ratios(gold[FORGET].items))
    return math.log(p) if p > 0 else -math.inf
