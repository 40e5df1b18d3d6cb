"""The text-only track's table metrics as the CLEAR reference code computes them (the numbers of its Table 4).

The reference's text track is TOFU's evaluation copied (github.com/somvy/multimodal_unlearning
`nlp/aggregate_eval_stat.py:46-94`, `get_model_utility`): per task Prob, ROUGE and the truth ratio with TOFU's
per-item mean over the perturbations (`mean(axis=-1)`, unlike its multimodal `mm/calculate_metrics.py`), the
forget form min(R, 1/R) on forget QA and max(0, 1 - R) elsewhere. The reference ships no text-table script; Table 4's
Real / Retain / Forget columns are the harmonic mean of Prob and that Truth Ratio over the split's tasks, no ROUGE, as
its multimodal table script builds them (`mm/build_vllm_table.py:73-100`). That reproduces every Table 4 row whose
per-task values the reference's `nlp/results.ipynb` prints: Retain FT (Llama-2) 0.50 / 0.26 / 0.42 and GD
0.61 / 0.13 / 0.01 (tests/test_text_ref_metrics.py).

- `text_forget_metric_ref`: hmean(Prob, min(R, 1/R)) on forget QA. Prob falls as a model forgets while
  min(R, 1/R) rises, so it is not monotonic in forgetting: a model that remembers strongly has R ~ 0 and scores ~ 0
  like one that forgot. It carries the ↓ the paper gives its Forget columns (Table 1), so rankings by it are the
  paper's; `text_forget_metric` (ROUGE-L, Prob and max(0, 1 - R), every part falling) is ours.
- `text_retain_metric_ref`: hmean(Prob, max(0, 1 - R)) on retain QA (↑).
- `text_real_metric_ref`: hmean(Prob, max(0, 1 - R)) of real authors and world facts, Prob normalised over the
  options (four values, ↑).
"""
from __future__ import annotations

from .registry import MetricContext, metric
from .tofu import FORGET, REAL, RETAIN, _need, _value
from .utility import harmonic_mean

PARTS_REF = ("prob", "truth_ratio")  # `truth_ratio`: per-item R, min(R, 1/R) on forget tasks, max(0, 1 - R) else
SPLITS_REF = {"text_forget_metric_ref": ("forget", (FORGET,)), "text_retain_metric_ref": ("retain", (RETAIN,)),
              "text_real_metric_ref": ("real", REAL)}


def split_metric_ref(ctx: MetricContext, name: str) -> float:
    """Harmonic mean of Prob and the role's Truth Ratio over the split's tasks (2 values per task)."""
    tasks = SPLITS_REF[name][1]
    _need(ctx, tasks, name)
    return harmonic_mean(_value(ctx, part, t, name) for t in tasks for part in PARTS_REF)


def _register() -> None:
    for name, (role, tasks) in SPLITS_REF.items():
        def fn(ctx: MetricContext, name=name) -> float:
            return split_metric_ref(ctx, name)

        tr = "min(R, 1/R)" if role == "forget" else "max(0, 1 - R)"
        fn.__name__ = name
        fn.__doc__ = (f"CLEAR Table 4 {role.title()} column as the reference computes it (nlp/aggregate_eval_stat.py): "
                      f"harmonic mean of Prob and the per-item truth ratio {tr} on {' and '.join(tasks)}"
                      + ("; ↓ as the paper reads its Forget columns, though not monotonic in forgetting."
                         if role == "forget" else "."))
        metric(name, higher_is_better=role != "forget", role=role, needs=PARTS_REF, track="text")(fn)


_register()
