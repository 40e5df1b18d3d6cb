"""The memorisation gate: did the target model learn the forget set before anyone tries to unlearn it?

Fictitious-identity benchmarks can end up measuring the forgetting of things the target never learned (Kwon et
al., "Before Forgetting, Learn to Remember", arXiv 2605.03759: stage-1 under-memorisation; CLEAR's own Table 1
margin is thin, target Forget 0.35 vs gold 0.19). TOFU (Maini et al. 2024, §3) fine-tunes until the target
answers its authors' questions and judges answers by ROUGE-L recall; this gate uses the same measure, read from
the per-item logs every evaluation already writes (no extra model pass).

Per forget task (role "forget" of `eval/tasks.py`): the fraction of items the model *answers*, an item being
answered when the ROUGE-L recall of its greedy answer is >= `ANSWERED_ROUGE` (an item without a generation, from
`--max-new-tokens 0`, counts as answered when its per-token answer probability is >= `ANSWERED_PROB`). The target
passes when, on every forget task, it answers at least `MIN_ANSWERED` of the items and at least `MIN_MARGIN` more
of them than the gold model (never trained on the forget set): what the gold model answers too (a generic caption,
a guessable name) is not knowledge that unlearning can remove.
"""
from __future__ import annotations

import math
import os
from typing import Any

from ..errors import ClearBenchError
from . import logs
from .metrics.rouge import item_rouge
from .tasks import get_task

ANSWERED_ROUGE = 0.75  # ROUGE-L recall of the greedy answer at which an item counts as answered
ANSWERED_PROB = 0.5  # per-token answer probability, for items without a generation
MIN_ANSWERED = 0.5  # the target answers at least half of every forget task's items ...
MIN_MARGIN = 0.2  # ... and at least 20 points more of them than the gold model
ALLOW_FLAG = "--allow-unmemorised"

CRITERION = (f"an item is answered when the ROUGE-L recall of the greedy answer is >= {ANSWERED_ROUGE} (without "
             f"a generation: answer probability >= {ANSWERED_PROB}); the target must answer >= {MIN_ANSWERED:.0%} "
             f"of every forget task's items and >= {MIN_MARGIN:.0%} more than the gold model")


def answered(record: logs.ItemRecord) -> bool:
    """Whether the model answers the item (ROUGE-L recall, else per-token probability, at the thresholds)."""
    rouge = item_rouge(record)
    if rouge is not None:
        return rouge >= ANSWERED_ROUGE
    return math.exp(-record.answer_mean_nll) >= ANSWERED_PROB


def answered_fraction(run_dir: str | os.PathLike, task: str) -> tuple[float, int]:
    """(fraction of the task's items the run's model answers, number of items)."""
    records = logs.read_task(run_dir, task)
    if not records:
        raise ClearBenchError(f"task '{task}' of {run_dir} has no items: nothing to measure memorisation on")
    return sum(answered(r) for r in records) / len(records), len(records)


def measure(target_dir: str | os.PathLike, gold_dir: str | os.PathLike) -> dict[str, Any]:
    """The gate's figures from the target's and the gold model's evaluation folders: per forget task the
    fractions answered (target, gold), their margin and whether the task passes; `passed` over all of them."""
    forget = [t for t in logs.list_tasks(target_dir) if get_task(t).role == "forget"]
    if not forget:
        raise ClearBenchError(f"no forget task in {target_dir}: the memorisation gate has nothing to measure")
    tasks = {}
    for name in forget:
        target, n = answered_fraction(target_dir, name)
        gold = answered_fraction(gold_dir, name)[0] if logs.task_done(gold_dir, name) else None
        margin = None if gold is None else target - gold
        ok = target >= MIN_ANSWERED and (margin is None or margin >= MIN_MARGIN)
        tasks[name] = {"target": round(target, 4), "gold": None if gold is None else round(gold, 4),
                       "margin": None if margin is None else round(margin, 4), "items": n, "passed": ok}
    return {"tasks": tasks, "passed": all(t["passed"] for t in tasks.values()),
            "thresholds": {"answered_rouge_l": ANSWERED_ROUGE, "answered_prob": ANSWERED_PROB,
                           "min_answered": MIN_ANSWERED, "min_margin": MIN_MARGIN},
            "criterion": CRITERION}


def check(report: dict[str, Any], allow: bool = False) -> dict[str, Any]:
    """`report` (from `measure`) with `allowed` set; a one-line ClearBenchError naming the failing tasks' figures
    when the target did not memorise the forget set and `allow` is off."""
    report = {**report, "allowed": bool(allow) and not report["passed"]}
    if report["passed"] or allow:
        return report
    failing = "; ".join(f"{name} target {t['target']:.2f}" + ("" if t["gold"] is None else
                                                               f", gold {t['gold']:.2f}, margin {t['margin']:+.2f}")
                        for name, t in report["tasks"].items() if not t["passed"])
    raise ClearBenchError(f"the target did not memorise the forget set (fraction of items answered: {failing}; "
                          f"needed >= {MIN_ANSWERED:.2f} and a margin over gold >= {MIN_MARGIN:.2f}): unlearning "
                          f"would measure the forgetting of what it never learned; train the target longer, or "
                          f"pass {ALLOW_FLAG} to unlearn anyway")
