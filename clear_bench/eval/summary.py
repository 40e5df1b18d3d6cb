"""Aggregate a run's per-item logs into every registered metric; write summary.json and summary.md;
compare runs side by side. Needs no model: everything is recomputed from the logs (+ the gold
run's logs for forget quality and PrivLeak).
"""
from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..efficiency import summary_entries
from ..errors import ClearBenchError
from ..utils import atomic_write_json, atomic_write_text, library_versions
from . import logs
from .metrics import MetricContext, TaskLog, resolve_order
from .tasks import TASKS, TEXT_TASKS, get_task

log = logging.getLogger(__name__)

SUMMARY_JSON, SUMMARY_MD = "summary.json", "summary.md"
HEADLINE = (  # (key, label): the paper's table, then utility
    ("real_metric", "Real metric"), ("retain_metric", "Retain metric"), ("forget_metric", "Forget metric"),
    ("forget_captions/forget_quality_js", "Forget quality (1 − JS)"),
    ("forget_captions/forget_quality_ks", "Forget quality (KS p)"), ("model_utility", "Model utility"),
)
PER_TASK = ("prob", "truth_ratio", "rouge_l")
TABLE_FOOTNOTE = (
    "Real / Retain / Forget metric: harmonic mean of ROUGE-L, Prob and the truth ratio rescaled so that higher = "
    "knowledge retained, max(0, 1 − R), over the split's two tasks (paper v4 §5.1); each part falls as a model "
    "forgets. `*_metric_ref` are the reference code's (Prob, Truth Ratio) versions, which the published Tables 1, "
    "3 and 6 were built with.")


@dataclass(frozen=True)
class Value:
    """One reported number: metric `metric` on `task` (None for run-level metrics)."""

    metric: str
    task: str | None
    value: float | None
    role: str
    higher_is_better: bool | None
    arrow: str
    ideal: float | None = None

    @property
    def key(self) -> str:
        return f"{self.task}/{self.metric}" if self.task else self.metric


def load_run(run_dir: str | os.PathLike, tasks: Iterable[str] | None = None) -> dict[str, TaskLog]:
    """A run folder's task logs (all of them, or `tasks`), with each task's role and kind."""
    names = list(tasks) if tasks is not None else logs.list_tasks(run_dir)
    if not names:
        raise ClearBenchError(f"no per-item logs (*{logs.SUFFIX}) in {run_dir}")
    rank = {name: i for i, name in enumerate({**TASKS, **TEXT_TASKS})}
    names.sort(key=lambda n: (rank.get(n, len(rank)), n))  # paper tasks first, in the paper's order
    out = {}
    for name in names:
        spec = get_task(name)
        out[name] = TaskLog(name=name, role=spec.role, items=tuple(logs.read_task(run_dir, name)),
                            normalized_prob=spec.normalized_prob, group=spec.group)
    return out


def _finite(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def compute_metrics(tasks: Mapping[str, TaskLog], gold: Mapping[str, TaskLog] | None = None,
                    names: Sequence[str] | None = None,
                    track: str = "multimodal") -> tuple[list[Value], dict[str, str]]:
    """Every metric of the run's `track` (`tracks.TRACKS`; or `names` and their dependencies) on `tasks`.

    Returns the values, and {metric: reason} for those not computed (needs gold logs that were not
    given, not applicable to this run's tasks, a dependency missing, or a ClearBenchError from the
    metric, e.g. a task without generations).
    """
    ctx = MetricContext(tasks=tasks, gold=gold)
    values: list[Value] = []
    skipped: dict[str, str] = {}
    for spec in resolve_order(names, track):
        missing = [d for d in spec.dependencies if d not in ctx.results]
        if missing:
            skipped[spec.name] = f"depends on {', '.join(missing)}, not computed"
            continue
        if "gold" in spec.needs and not gold:
            skipped[spec.name] = "needs the gold run's logs (--gold)"
            continue
        try:
            result = spec(ctx)
        except ClearBenchError as e:
            skipped[spec.name] = str(e)
            continue
        if isinstance(result, dict):
            if not result:
                skipped[spec.name] = f"not applicable to this run's tasks (reads {spec.role})"
                continue
            for task, v in result.items():
                role = tasks[task].role if task in tasks else spec.role
                values.append(Value(spec.name, task, _finite(v), role, spec.direction(role), spec.arrow(role),
                                    spec.ideal))
        else:
            values.append(Value(spec.name, None, _finite(result), spec.role, spec.direction(), spec.arrow(),
                                spec.ideal))
        ctx.results[spec.name] = result
    return values, skipped


def summarize(run_dir: str | os.PathLike, gold_dir: str | os.PathLike | None = None,
              names: Sequence[str] | None = None, write: bool = True) -> dict[str, Any]:
    """Compute the run's metrics from its logs (and the gold run's), write summary.json and summary.md
    into `run_dir` (if `write`), and return the summary dict."""
    tasks = load_run(run_dir)
    gold = load_run(gold_dir) if gold_dir is not None else None
    info = logs.read_run_info(run_dir)
    # the track the run says it belongs to (`evaluate`'s run.json; runs from before tracks are multimodal)
    values, skipped = compute_metrics(tasks, gold, names, track=info.get("track") or "multimodal")
    summary = {
        "run": str(run_dir), "gold": None if gold_dir is None else str(gold_dir),
        "config": info, "seed": info.get("seed"), "library_versions": library_versions(),
        "tasks": {t.name: {"role": t.role, "items": len(t.items)} for t in tasks.values()},
        "metrics": {v.key: {"value": v.value, "metric": v.metric, "task": v.task, "role": v.role,
                            "higher_is_better": v.higher_is_better, "ideal": v.ideal, "direction": v.arrow}
                    for v in values},
        "skipped": skipped,
    }
    # run-level facts that are not aggregates of the logs (cost of the unlearning that made this model)
    summary["metrics"].update(summary_entries(info.get("efficiency")))
    if write:
        atomic_write_json(Path(run_dir) / SUMMARY_JSON, summary)
        atomic_write_text(Path(run_dir) / SUMMARY_MD, summary_markdown(summary))
        log.info("wrote %s and %s in %s", SUMMARY_JSON, SUMMARY_MD, run_dir)
    return summary


def _fmt(entry: Mapping[str, Any] | None, arrow: bool = True) -> str:
    if entry is None:
        return "–"
    v = entry["value"]
    if v is None:
        text = "n/a"
    elif abs(v) >= 100:
        text = f"{v:.1f}"
    else:
        text = f"{v:.2e}" if 0 < abs(v) < 1e-3 else f"{v:.3f}"
    return f"{text} {entry['direction']}" if arrow else text


def summary_markdown(summary: Mapping[str, Any]) -> str:
    """The summary as markdown: headline (paper table + utility), per-task table, other metrics,
    skipped metrics. Every number carries its direction: ↑ higher is better, ↓ lower, →x closer to x."""
    m = summary["metrics"]
    title = Path(summary["run"]).name or summary["run"]
    lines = [f"# {title}", ""]
    if summary.get("gold"):
        lines += [f"Gold run: `{summary['gold']}`", ""]
    head = [(label, m[key]) for key, label in HEADLINE if key in m]
    if head:
        lines += ["| metric | value |", "|---|---|", *[f"| {label} | {_fmt(e)} |" for label, e in head], ""]
    lines += ["| task | role | items | " + " | ".join(PER_TASK) + " |", "|---|---|---|" + "---|" * len(PER_TASK)]
    for task, t in summary["tasks"].items():
        cells = [_fmt(m.get(f"{task}/{name}")) for name in PER_TASK]
        lines.append(f"| {task} | {t['role']} | {t['items']} | " + " | ".join(cells) + " |")
    shown = {k for k, _ in HEADLINE} | {f"{t}/{n}" for t in summary["tasks"] for n in PER_TASK}
    rest = [(k, e) for k, e in m.items() if k not in shown]
    if rest:
        lines += ["", "| metric | value |", "|---|---|", *[f"| {k} | {_fmt(e)} |" for k, e in rest]]
    if summary.get("skipped"):
        lines += ["", "Not computed:", *[f"- `{k}`: {why}" for k, why in summary["skipped"].items()]]
    if any(key in m for key, _ in HEADLINE[:3]):
        lines += ["", TABLE_FOOTNOTE]
    return "\n".join(lines) + "\n"


def _labels(dirs: Sequence[Path]) -> list[str]:
    names = [d.name or str(d) for d in dirs]
    return [str(d) if names.count(n) > 1 else n for d, n in zip(dirs, names)]


def compare_runs(run_dirs: Sequence[str | os.PathLike], gold_dir: str | os.PathLike | None = None,
                 names: Sequence[str] | None = None) -> str:
    """Markdown table of every metric (rows) for each run (columns), the best run in bold per row
    (closest to the ideal for metrics such as MIA AUC; none for holdout tasks, which have no direction).
    Recomputed from the logs, so never stale; writes nothing."""
    if not run_dirs:
        raise ClearBenchError("compare_runs needs at least one run folder")
    return compare_summaries([summarize(d, gold_dir, names, write=False) for d in run_dirs])


def compare_summaries(summaries: Sequence[Mapping[str, Any]], gold: int | None = None) -> str:
    """`compare_runs` on summaries already computed (dicts as `summarize` returns them). With `gold` (the index of
    the gold model's summary), a forget-task metric's best is the other run closest to gold's value: forgetting
    past the model that never saw the forget set is not better (issue 27.4)."""
    keys: list[str] = []
    for s in summaries:
        keys += [k for k in s["metrics"] if k not in keys]
    order = {k: i for i, (k, _) in enumerate(HEADLINE)}
    keys.sort(key=lambda k: order.get(k, len(order)))  # headline first, then first-seen order
    labels = _labels([Path(s["run"]) for s in summaries])
    lines = ["| metric | dir | " + " | ".join(labels) + " |", "|---|---|" + "---|" * len(summaries)]
    for key in keys:
        entries = [s["metrics"].get(key) for s in summaries]
        some = next(e for e in entries if e is not None)
        cells = [_fmt(e, arrow=False) for e in entries]
        if gold is not None and some.get("role") == "forget" and (entries[gold] or {}).get("value") is not None:
            others = [None if i == gold else e for i, e in enumerate(entries)]
            best = _best(others, None, entries[gold]["value"])
        else:
            best = _best(entries, some.get("higher_is_better"), some.get("ideal"))
        cells = [f"**{c}**" if i in best else c for i, c in enumerate(cells)]
        lines.append(f"| {key} | {some['direction']} | " + " | ".join(cells) + " |")
    if any(key in keys for key, _ in HEADLINE[:3]):
        lines += ["", TABLE_FOOTNOTE]
    return "\n".join(lines) + "\n"


def _best(entries: Sequence[Mapping[str, Any] | None], higher: bool | None, ideal: float | None) -> set[int]:
    """Indices of the best runs: highest/lowest value, or closest to `ideal` for metrics without a direction."""
    vals = [(i, e["value"]) for i, e in enumerate(entries) if e is not None and e["value"] is not None]
    if len(vals) < 2 or (higher is None and ideal is None):
        return set()
    if higher is None:
        vals = [(i, -abs(v - ideal)) for i, v in vals]
        higher = True
    target = (max if higher else min)(v for _, v in vals)
    return {i for i, v in vals if v == target}
