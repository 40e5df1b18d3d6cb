"""A track's leaderboard table, from its records: seeds merged, target / gold reference rows, rank within a model,
distance to gold and the Pareto front. Pure: records in, row dicts out (`build.py` renders them).

- **Seeds merged.** Records of one run configuration that differ only in seed (same track, label, base model,
  modality, forget size and configuration once every `seed` field is removed, and both shipped or both yours: a
  reproduction of a shipped run stays a row of its own beside it) are one row: each metric is the
  mean over the seeds that computed it, with a 95 % Student-t interval, mean ± t(0.975, n − 1) · s / √n (s the
  sample standard deviation, `scipy.stats.t`); `n` is the number of records. One seed: n = 1, no interval.
- **References.** Each model's target (the fine-tuned model before unlearning) and gold (fine-tuned on the retain
  set only) are rows of their own, marked and never ranked: the LM tracks' records carry their values
  (`record["reference"]`), the visual track ships them as records of methods `original` and `gold`. Records whose
  references differ (another target seed) are merged like seeds.
- **Ranking.** Within each base model and forget size (two models' runs, or a 5 % and a 10 % forget set, are never
  ranked against each other): collapsed rows last (the keep score below half the target's: the record's
  reference, else the board's target row, as on the visual track; below 0.05 when no target is known), then the
  sort metric in its own direction (closest to its ideal for U-LIRA / U-MIA), then the tie-break: the track's
  keep score in its direction (model utility; visual: retain accuracy), then the label, modality and preset; a
  value that does not apply sorts after every value.
- **Distance to gold.** `to_gold_forget` = |forget − gold's forget|: the gold model is the ideal, so forgetting
  less (still remembers) and forgetting past it (the collateral of a collapse) are both off by that much.
  `retain_cost` = how far the retain score falls short of gold's in its direction (0 at or beyond gold's).
  A row is on the **Pareto front** when no other ranked, non-collapsed row of its model and forget size is at least
  as close to gold on forgetting at no greater retain cost, and strictly better on one: "which method forgets best
  at what retain cost".
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

from ..errors import ClearBenchError
from ..eval.metrics.registry import goal
from ..tracks import Board

COLLAPSE_FRACTION = 0.5
COLLAPSE_FLOOR = 0.05
CONFIDENCE = 0.95
EFFICIENCY = ("unlearn_cost_fraction", "Cost / retrain", "↓")
# records that are references themselves (the visual track ships its target and gold as runs)
REFERENCE_METHODS = {"original": "target", "target": "target", "gold": "gold"}
REFERENCE_LABELS = {"target": "target (before)", "gold": "gold (retain only)"}


@dataclass(frozen=True)
class Stat:
    """One metric of a row: the mean over `n` values and the half-width of its 95 % t-interval (None for n < 2)."""

    mean: float
    half: float | None
    n: int


def t_interval(values: list[float]) -> Stat:
    """Mean and the half-width of the 95 % Student-t interval of `values` (none for a single value)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return Stat(mean, None, n)
    from scipy.stats import t

    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return Stat(mean, float(t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * sd / math.sqrt(n), n)


def entry(record: dict, key: str) -> dict | None:
    if key == EFFICIENCY[0]:
        v = (record.get("efficiency") or {}).get(key)
        return None if v is None else {"value": v, "direction": EFFICIENCY[2], "higher_is_better": False}
    return record["metrics"].get(key)


def value(record: dict, key: str) -> float | None:
    e = entry(record, key)
    v = None if e is None else e.get("value")
    return v if v is None or math.isfinite(v) else None


def entry_goal(e: dict) -> str | float | None:
    """A record entry's goal: 'higher', 'lower', its target value (closest is best), or None. The target wins over
    a direction: records written before issue 22.3 carry U-LIRA as lower-is-better with ideal 0.5."""
    ideal, direction = e.get("ideal"), e.get("direction") or ""
    if ideal is None and direction.startswith("→"):
        ideal = float(direction[1:])
    return goal(e.get("higher_is_better"), ideal)


def oriented(v: float, target: str | float | None) -> float:
    """`v` turned so that higher is better under `target` (a goal as `entry_goal` gives it)."""
    if target == "higher":
        return v
    if target == "lower":
        return -v
    if isinstance(target, float):
        return -abs(v - target)
    raise ValueError("a metric without a direction cannot be ranked")


def first_entry(records: list[dict], key: str) -> dict | None:
    return next((e for e in (entry(r, key) for r in records) if e), None)


def key_goal(records: list[dict], key: str) -> str | float | None:
    e = first_entry(records, key)
    return None if e is None else entry_goal(e)


def arrow(records: list[dict], key: str) -> str:
    """The column's direction: '↑', '↓', or '→x' for a metric ranked by closeness to x (U-LIRA's 0.5)."""
    e = first_entry(records, key)
    if e is None:
        return ""
    g = entry_goal(e)
    if isinstance(g, float):
        return f"→{g:g}"
    return {"higher": "↑", "lower": "↓"}.get(g, e.get("direction") or "")


def model_of(record: dict) -> str:
    """The base model a record's run started from (the board's model column)."""
    model, config = record.get("model") or {}, record.get("config") or {}
    return str(model.get("base") or config.get("base_model") or (config.get("backbone") or {}).get("name") or "?")


def _without_seeds(value):
    if isinstance(value, dict):
        return {k: _without_seeds(v) for k, v in value.items() if k != "seed"}
    if isinstance(value, list):
        return [_without_seeds(v) for v in value]
    return value


def seed_group(record: dict) -> tuple:
    """What identifies a run up to its seed: records with equal groups are one row."""
    config = json.dumps(_without_seeds(record.get("config") or {}), sort_keys=True, default=str)
    return (record.get("label", record["method"]), model_of(record), record["modality"], record["forget"], config)


def collapsed_value(keep: float | None, target_keep: float | None) -> bool:
    """True when the keep score fell below half the target's (below 0.05 when the target's is unknown)."""
    if keep is None:
        return False
    return keep < (COLLAPSE_FRACTION * target_keep if target_keep else COLLAPSE_FLOOR)


def collapsed(record: dict, board: Board) -> bool:
    """One record's collapse, against the target values it carries."""
    target = ((record.get("reference") or {}).get("target") or {}).get(board.keep)
    return collapsed_value(value(record, board.keep), target)


def collapse_note(board: Board, summary: dict, target_summary: dict) -> str:
    """'' or a line (for a run's results plot) saying that the run collapsed as the leaderboard judges it."""
    def keep(s):
        return ((s.get("metrics") or {}).get(board.keep) or {}).get("value")

    mine, target = keep(summary), keep(target_summary)
    if not collapsed_value(mine, target):
        return ""
    against = f"{COLLAPSE_FRACTION:g} × the target's {target:.3f}" if target else f"{COLLAPSE_FLOOR:g}"
    return f"\nCOLLAPSED: {board.keep} {mine:.3f} < {against} (ranked last on the leaderboard)"


def _stats(value_dicts: list[dict], keys) -> dict[str, Stat | None]:
    out = {}
    for k in keys:
        vals = [d[k] for d in value_dicts if isinstance(d.get(k), (int, float)) and math.isfinite(d[k])]
        out[k] = t_interval(vals) if vals else None
    return out


def _origin(shipped: list[bool]) -> str:
    return "shipped" if all(shipped) else "yours" if not any(shipped) else "shipped + yours"


def _shortfall(v: float, gold: float, target) -> float:
    """How far `v` is worse than `gold` under `target` (0 at or beyond it)."""
    if target == "higher":
        return max(0.0, gold - v)
    if target == "lower":
        return max(0.0, v - gold)
    if isinstance(target, float):
        return max(0.0, abs(v - target) - abs(gold - target))
    return abs(v - gold)


def rows(records: list[tuple[dict, bool]], board: Board, sort: str | None = None) -> list[dict]:
    """Table rows of one track from (record, shipped) pairs: a record given twice (same `record_hash`) counts once;
    each model's target and gold reference rows first, then its runs in rank order (module docstring)."""
    seen, unique = set(), []
    for record, shipped in records:
        if record["record_hash"] not in seen:
            seen.add(record["record_hash"])
            unique.append((record, shipped))
    every = [r for r, _ in unique]
    keys = [k for k, _ in board.columns] + [EFFICIENCY[0]]
    sort_key = sort or board.sort
    sort_goal = key_goal(every, sort_key)
    keep_goal = key_goal(every, board.keep)
    if sort and sort_goal is None and first_entry(every, sort) is None:
        raise ClearBenchError(f"no record has metric '{sort}' to sort by")

    # references: from the records' `reference` blocks, and records that are references themselves
    ref_values: dict[tuple, dict[str, dict]] = {}  # (model, forget, role) -> {identity: values}
    ref_records: dict[tuple, list[dict]] = {}
    groups: dict[tuple, list[tuple[dict, bool]]] = {}
    for record, shipped in unique:
        model = model_of(record)
        role = REFERENCE_METHODS.get(record["method"])
        if role:
            vals = {k: value(record, k) for k in keys}
            ref_values.setdefault((model, record["forget"], role), {})[record["record_hash"]] = vals
            ref_records.setdefault((model, record["forget"], role), []).append(record)
            continue
        for role, vals in (record.get("reference") or {}).items():
            if role in REFERENCE_LABELS and vals:
                ident = (record.get("model") or {}).get(role) or json.dumps(vals, sort_keys=True)
                ref_values.setdefault((model, record["forget"], role), {})[ident] = vals
                ref_records.setdefault((model, record["forget"], role), []).append(record)
        groups.setdefault((*seed_group(record), shipped), []).append((record, shipped))

    references = {}
    for (model, forget, role), by_ident in ref_values.items():
        recs = ref_records[(model, forget, role)]
        references[(model, forget, role)] = {
            "kind": role, "label": REFERENCE_LABELS[role], "method": role, "model": model,
            "modality": "·", "forget": forget, "preset": recs[0]["config"].get("preset", "?"), "from": "reference",
            "collapsed": False, "rank": None, "n": len(by_ident), "seeds": [], "records": recs[:1] if
            REFERENCE_METHODS.get(recs[0]["method"]) is None else recs,
            "stats": _stats(list(by_ident.values()), keys)}

    def ref_mean(model, forget, role, key):
        ref = references.get((model, forget, role))
        s = ref and ref["stats"].get(key)
        return s.mean if s else None

    table = []
    for (label, model, modality, forget, _, _), members in groups.items():
        members.sort(key=lambda pair: (pair[0]["seed"], pair[0]["record_hash"]))
        recs = [r for r, _ in members]
        stats = _stats([{k: value(r, k) for k in keys} for r in recs], keys)
        own_ref = {role: _stats([(r.get("reference") or {}).get(role) or {} for r in recs], keys)
                   for role in REFERENCE_LABELS}

        def reference(role, key):
            s = own_ref[role].get(key)
            return s.mean if s else ref_mean(model, forget, role, key)

        mean = {k: (s.mean if s else None) for k, s in stats.items()}
        row = {"kind": "method", "label": label, "method": recs[0]["method"], "model": model, "modality": modality,
               "forget": forget, "preset": recs[0]["config"].get("preset", "?"),
               "from": _origin([s for _, s in members]), "n": len(recs), "seeds": [r["seed"] for r in recs],
               "records": recs, "stats": stats,
               "collapsed": collapsed_value(mean.get(board.keep), reference("target", board.keep))}
        gold_f, gold_r = reference("gold", board.forget), reference("gold", board.retain)
        f, r = mean.get(board.forget), mean.get(board.retain)
        row["to_gold_forget"] = None if f is None or gold_f is None else abs(f - gold_f)
        row["retain_cost"] = (None if r is None or gold_r is None
                              else _shortfall(r, gold_r, key_goal(recs, board.retain)))
        table.append(row)

    def rank_key(row):
        def part(key, g):
            s = row["stats"].get(key)
            if s is None or g is None:
                return (True, 0.0)
            return (False, -oriented(s.mean, g))
        return (row["collapsed"], *part(sort_key, sort_goal), *part(board.keep, keep_goal), row["label"],
                row["modality"], row["forget"], row["preset"])

    out = []
    blocks = sorted({(r["model"], r["forget"]) for r in table} | {(m, f) for m, f, _ in references})
    for model, forget in blocks:  # one ranking per model and forget size
        for role in ("target", "gold"):
            if (model, forget, role) in references:
                out.append(references[(model, forget, role)])
        mine = sorted((r for r in table if (r["model"], r["forget"]) == (model, forget)), key=rank_key)
        for i, row in enumerate(mine, 1):
            row["rank"] = i
            row["front"] = _on_front(row, mine)
        out += mine
    for row in out:  # flat values for renderers and tests
        for k in keys:
            s = row["stats"].get(k)
            row[k] = s.mean if s else None
        row.setdefault("to_gold_forget", None)
        row.setdefault("retain_cost", None)
        row.setdefault("front", False)
    return out


def _on_front(row: dict, rows_of_model: list[dict]) -> bool:
    def point(r):
        return (None if r["collapsed"] or r["to_gold_forget"] is None or r["retain_cost"] is None
                else (r["to_gold_forget"], r["retain_cost"]))

    p = point(row)
    if p is None:
        return False
    for other in rows_of_model:
        q = point(other)
        if other is row or q is None or other["forget"] != row["forget"]:
            continue
        if q[0] <= p[0] and q[1] <= p[1] and q != p:
            return False
    return True
