"""Run attacks on a finished run folder: `clear-bench attack RUN --attacks a,b` and `clear-eval --attacks a,b`.

For each attack, on the run's saved model (`training.saved.load_run_model`, checksums verified):
  1. apply the attack to the unlearned model and re-score the forget and retain tasks (`eval.run.evaluate`) into
     `RUN/attacks/NAME/eval/` (per-item logs, summary.json: resumable per task, as every evaluation);
  2. the same attack on the gold model, the reference row, scored into the cache (`<cache>/evals/attack-...`, shared
     by every run of the same gold model, data and evaluation settings);
  3. `RUN/attacks/NAME/result.json`: the forget and retain metric after the attack, the same before it, recovery
     (`recovery.recovery`) for the run and for gold, on the forget metric and on the forget tasks' mean answer
     probability (`recovery_prob`), the attack's settings, what it measured, its cost in seconds.
Then `RUN/attacks.json` (every attack's result) and an `attacks` block in `RUN/submission.json` (re-hashed).
An attack whose result.json holds the same key (attack settings, saved model, gold model, evaluation) is not run
again. An attack that scores only some forget persons (relearning) has every metric before and after, of the run,
target and gold, computed on the same items (`RUN/attacks/NAME/subsets/`).
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path

from ..errors import ClearBenchError
from ..utils import atomic_write_json, stable_hash
from .base import AttackContext, check_attacks
from .recovery import recovery, shifted_recovery

log = logging.getLogger(__name__)

ATTACKS_DIR = "attacks"
ATTACKS_JSON = "attacks.json"
RESULT_JSON = "result.json"
RESULT_VERSION = 3  # bump when result.json gains or changes a field: older results are then recomputed
# What an attack re-scores: the tasks of the track's forget and retain metrics (and, on the multimodal track, the
# TOFU forget / retain QA that the text forget stream unlearns). Real-knowledge and holdout tasks are left out: an
# attack is about what comes back, and they double the cost.
ATTACK_TASKS = {
    "multimodal": ("forget_captions", "forget_facerec", "retain_captions", "retain_facerec", "tofu_forget",
                   "tofu_retain"),
    "text": ("text_forget", "text_retain"),
}


# The forget metric is a harmonic mean that is 0 as soon as one of its parts is (a forget task's ROUGE-L at 0): on a
# few items it moves in jumps. Recovery is also given on the mean answer probability of the same forget tasks, which
# moves with every item (`recovery_prob`).
PROB_TASKS = {"multimodal": ("forget_captions", "forget_facerec"), "text": ("text_forget",)}


def _prob_tasks(attack, track) -> tuple[str, ...]:
    own = attack.forget_tasks(track.name)
    return tuple(own) if own is not None else PROB_TASKS.get(track.name, ())


def _mean(summary: dict, tasks, what: str = "prob") -> float | None:
    """The mean of `what` ("prob", "rouge_l") over `tasks` in a summary."""
    values = [_value(summary, f"{t}/{what}") for t in tasks]
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def _value(summary: dict, key: str):
    entry = summary.get("metrics", {}).get(key)
    return None if entry is None else entry.get("value")


def _tasks(track, source, forget: int) -> list[str]:
    from ..eval.run import available_tasks

    # a track that evaluates by data (multimodal: the Hub has no holdout persons) scores the tasks the data holds;
    # the others (text) always have theirs
    have = set(available_tasks(source, forget)) if track.tasks_by_data else set(track.tasks)
    tasks = [t for t in ATTACK_TASKS.get(track.name, ()) if t in have]
    if not tasks:
        raise ClearBenchError(f"the {track.name} track has no forget / retain task an attack can re-score")
    return tasks


def _subset(src: Path, dst: Path, keep, tasks: list[str], gold: Path | None = None, view=None) -> dict:
    """The summary of `src`'s logs of `tasks`, forget tasks' records restricted to those `keep(record)` accepts
    (None: all) and seen through `view(task, records)` (an input attack's `plain_view`), written into `dst`
    (replaced)."""
    from ..eval import logs
    from ..eval.summary import summarize
    from ..eval.tasks import get_task

    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    for task in tasks:
        if not logs.task_done(src, task):
            continue
        records = logs.read_task(src, task)
        if keep is not None and get_task(task).role == "forget":
            records = [r for r in records if keep(r)]  # multimodal: TOFU QA logs name no person, left out
        if view is not None:
            records = view(task, records)
        if records:
            logs.write_task(dst, task, records)
    info = logs.read_run_info(src)
    info["tasks"] = [t for t in tasks if logs.task_done(dst, t)]
    info["subset_of"] = str(src)
    logs.write_run_info(dst, info)
    return summarize(dst, gold)


class _Run:
    """The facts of a finished run an attack needs, read from its folder."""

    def __init__(self, run_dir: Path):
        from ..data.sources import DataSource
        from ..eval.config import EvalConfig
        from ..leaderboard.records import load_record
        from ..runs import read_marker
        from ..tracks import get_track
        from ..training.saved import verify_run_model

        self.dir = run_dir
        self.manifest = verify_run_model(run_dir)  # one line when the run kept no model, or a file changed
        self.track = get_track(self.manifest["track"])
        marker = read_marker(run_dir)
        if marker is None:
            raise ClearBenchError(f"{run_dir} is not a clear-eval run folder (no run marker)")
        self.identity = marker["identity"]
        if not (run_dir / "submission.json").is_file():
            raise ClearBenchError(f"{run_dir} is not a finished run (no submission.json): run clear-eval with the same "
                                  "settings to finish it first")
        self.record = load_record(run_dir / "submission.json")
        run = self.manifest["run"]
        self.eval = EvalConfig(**run["eval"])
        self.source = DataSource(run["data"]["clear"], run["data"]["tofu"])
        self.gold_eval = Path(run["gold_eval"]) if run.get("gold_eval") else None
        self.target_eval = Path(run["target_eval"]) if run.get("target_eval") else None
        self.eval_dir = run_dir / "eval"
        gold = (self.manifest.get("gold") or {}).get("path")
        for what, path in (("target evaluation", self.target_eval), ("gold evaluation", self.gold_eval),
                           ("gold model", gold)):
            if not path or not Path(path).is_dir():
                raise ClearBenchError(f"the {what} of {run_dir} is not in the cache any more ({path}): run clear-eval "
                                      "with the same settings again to rebuild it, then attack")
        self.tasks = _tasks(self.track, self.source, self.eval.forget)


def run_track(run_dir: str | os.PathLike) -> str:
    """The track of a run folder: its saved model's (`training.saved`), else its marker's (a visual-track run keeps
    no LM model, and its attacks are refused by track, not by a missing file)."""
    from ..runs import read_marker
    from ..training.saved import read_run_model_manifest

    try:
        return read_run_model_manifest(run_dir)["track"]
    except ClearBenchError:
        marker = read_marker(run_dir) if Path(run_dir).is_dir() else None
        track = (marker or {}).get("identity", {}).get("track")
        if track and track != "multimodal" and track != "text":
            return track
        raise


def check_run_attacks(run_dir, names) -> list:
    """The attacks `names` on the run in `run_dir`, checked against its track: one line for an unknown or
    inapplicable one, and for a visual-track run (it keeps no model: its attacks run inside its clear-eval)."""
    track = run_track(run_dir)
    attacks = check_attacks(names, track)
    if track == "visual":
        raise ClearBenchError("a visual-track run keeps no face-ID model to attack later: its attacks run with the "
                              "split models, `clear-eval --track visual --attacks ...` (visual/robustness.py)")
    return attacks


def run_attacks(run_dir: str | os.PathLike, names, device: str | None = None) -> dict:
    """Run the attacks `names` (list or comma-separated) on the finished run in `run_dir`; returns attacks.json's
    content. Every name is checked against the run's track before any work."""
    from ..runs import CLEAR_EVAL, claim, release

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ClearBenchError(f"run folder {run_dir} does not exist")
    attacks = check_run_attacks(run_dir, names)  # inapplicable: one line, no work
    run = _Run(run_dir)
    claim(run_dir, CLEAR_EVAL, run.identity, flag="RUN")  # our run's folder, and no other process writes into it
    try:
        results = _read_json(run_dir / ATTACKS_JSON)
        for attack in attacks:
            results[attack.name] = attack_one(run, attack, device)
            atomic_write_json(run_dir / ATTACKS_JSON, results)
        _add_to_record(run, results)
    finally:
        release(run_dir)
    return results


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _gold_key(attack, ctx):
    """What, beyond its settings, makes an attack's result (a relearning attack: its recipe and items)."""
    return attack.gold_key(ctx) if hasattr(attack, "gold_key") else None


def _key(run: _Run, attack, persons, ctx, tasks) -> str:
    return stable_hash([RESULT_VERSION, attack.name, attack.settings(), run.manifest["files"], run.manifest.get("gold"),
                        run.eval.as_dict(), tasks, sorted(persons) if persons is not None else None,
                        _gold_key(attack, ctx)])


def _attack_tasks(run: _Run, attack) -> list[str]:
    """The tasks an attack re-scores: every attack task of the run (a weight attack), or the forget tasks whose
    items it changes (an input attack); none left is one line."""
    if attack.changes != "inputs":
        return list(run.tasks)
    tasks = [t for t in run.tasks if t in attack.forget_tasks(run.track.name)]
    if not tasks:
        raise ClearBenchError(f"attack '{attack.name}': the run's data has none of the tasks it changes "
                              f"({', '.join(attack.forget_tasks(run.track.name))})")
    return tasks


def _transform(attack, ctx):
    """evaluate()'s `transform` for an input attack (None for a weight attack)."""
    if attack.changes != "inputs":
        return None
    return lambda task, samples: attack.transform(task, samples, ctx)


def attack_one(run: _Run, attack, device: str | None = None) -> dict:
    """One attack on one run, and on its gold model (module docstring); cached by `result.json`'s key."""
    from ..eval.run import evaluate
    from ..training.saved import load_run_model
    from ..utils import hardware

    out = run.dir / ATTACKS_DIR / attack.name
    ctx = AttackContext(track=run.track, family=run.manifest["family"], source=run.source, manifest=run.manifest,
                        identity=run.identity, device=device)
    persons = attack.scored_persons(ctx)
    tasks = _attack_tasks(run, attack)
    key = _key(run, attack, persons, ctx, tasks)
    old = _read_json(out / RESULT_JSON)
    if old.get("key") == key:
        log.info("attack %s: already in %s, skipped", attack.name, out)
        return old
    if out.exists() and old.get("key") not in (None, key):
        shutil.rmtree(out)  # another model or setting: its logs must not mix with this one's
    forget_key, retain_key = run.track.board.forget, run.track.board.retain
    t0 = time.time()
    model, processor, _ = load_run_model(run.dir, device=device)
    model = attack.apply(model, processor, ctx)
    attack_s = time.time() - t0
    info = dict(attack.info())
    t1 = time.time()
    info_run = {"attack": attack.name, "attack_settings": attack.settings(), "method": run.manifest["method"],
                "hardware": hardware(), "track": run.track.name, **run.eval.as_dict()}
    evaluate(model, processor, run.source, out / "eval", run.eval, tasks=tasks, gold_dir=run.gold_eval,
             run_info=info_run, transform=_transform(attack, ctx))
    eval_s = time.time() - t1
    del model
    t2 = time.time()
    gold_eval = _gold_under_attack(run, attack, device, tasks)
    # an input attack asks every model the changed way: the target under it is the other end of the scale
    target_eval = _gold_under_attack(run, attack, device, tasks, "target") if attack.changes == "inputs" else None
    gold_s = time.time() - t2
    keep = None if persons is None else (lambda r: attack.keeps(r, persons))
    view = None
    if attack.changes == "inputs":
        from ..eval import logs

        attacked = {t: {r.item_id: r for r in logs.read_task(out / "eval", t)} for t in tasks}
        view = lambda task, records: attack.plain_view(task, records, attacked[task])  # noqa: E731

    def summary(src, name, gold=run.gold_eval, plain=True):
        return _subset(src, out / "subsets" / name, keep, tasks, gold, view if plain else None)

    after = summary(out / "eval", "unlearned-attacked", plain=False)
    before = summary(run.eval_dir, "unlearned")
    gold_after = summary(gold_eval, "gold-attacked", None, plain=False)
    gold_before = summary(run.gold_eval, "gold", None) if run.gold_eval else {}
    target = summary(run.target_eval, "target", None) if run.target_eval else {}
    target_after = summary(target_eval, "target-attacked", None, plain=False) if target_eval else None
    t, g = _value(target, forget_key), _value(gold_before, forget_key)
    pt = _prob_tasks(attack, run.track)
    tp, gp = _mean(target, pt), _mean(gold_before, pt)
    p_after, p_before, gp_after = _mean(after, pt), _mean(before, pt), _mean(gold_after, pt)
    tr, gr = _mean(target, pt, "rouge_l"), _mean(gold_before, pt, "rouge_l")
    r_after, r_before = _mean(after, pt, "rouge_l"), _mean(before, pt, "rouge_l")
    gr_after = _mean(gold_after, pt, "rouge_l")

    def rec(after_, before_, target_, gold_, gold_after_, key_, what="prob"):
        """recovery; for an input attack against target and gold asked the same changed way"""
        if target_after is None:
            return recovery(after_, before_, target_, gold_)
        t_after = _value(target_after, key_) if key_ else _mean(target_after, pt, what)
        return shifted_recovery(after_, before_, target_, gold_, t_after, gold_after_)

    retain_before, gold_retain_before = _value(before, retain_key), _value(gold_before, retain_key)
    if attack.changes == "inputs":  # the model is unchanged, and so is what it keeps: the run's and gold's own
        retain_before = retain_after = _value(_read_json(run.eval_dir / "summary.json"), retain_key)
        gold_retain_before = gold_retain_after = _value(_read_json(run.gold_eval / "summary.json"), retain_key)
    else:
        retain_after, gold_retain_after = _value(after, retain_key), _value(gold_after, retain_key)
    result = {
        "attack": attack.name, "key": key, "tracks": list(attack.tracks), "settings": attack.settings(),
        "info": info, "metric": forget_key, "retain_metric": retain_key, "changes": attack.changes, "tasks": tasks,
        "prob_tasks": list(pt), "scored_persons": sorted(persons) if persons is not None else None,
        "forget": _value(after, forget_key), "forget_before": _value(before, forget_key),
        "retain": retain_after, "retain_before": retain_before,
        "target": t, "gold": g,
        "recovery": rec(_value(after, forget_key), _value(before, forget_key), t, g, _value(gold_after, forget_key),
                        forget_key),
        "forget_prob": p_after, "forget_prob_before": p_before, "target_prob": tp, "gold_prob": gp,
        "recovery_prob": rec(p_after, p_before, tp, gp, gp_after, None),
        "forget_rouge": r_after, "forget_rouge_before": r_before, "target_rouge": tr, "gold_rouge": gr,
        "recovery_rouge": rec(r_after, r_before, tr, gr, gr_after, None, "rouge_l"),
        "target_row": None if target_after is None else {
            "forget": _value(target_after, forget_key), "forget_prob": _mean(target_after, pt),
            "forget_rouge": _mean(target_after, pt, "rouge_l"), "eval": str(target_eval)},
        "gold_row": {"forget": _value(gold_after, forget_key), "forget_before": g,
                     "retain": gold_retain_after, "retain_before": gold_retain_before,
                     "recovery": recovery(_value(gold_after, forget_key), g, t, g),
                     "forget_prob": gp_after, "recovery_prob": recovery(gp_after, gp, tp, gp),
                     "forget_rouge": gr_after, "recovery_rouge": recovery(gr_after, gr, tr, gr),
                     "eval": str(gold_eval)},
        "cost": {"attack_s": round(attack_s, 2), "eval_s": round(eval_s, 2), "gold_s": round(gold_s, 2)},
        # the unlearning's own wall time on the machine that ran it, beside the attack's (issue 23's cost table)
        "unlearn_s": (run.record.get("efficiency") or {}).get("unlearn_s"),
    }
    atomic_write_json(out / RESULT_JSON, result)
    log.info("attack %s: %s %s -> %s (recovery %s; gold %s)", attack.name, forget_key, _fmt(result["forget_before"]),
             _fmt(result["forget"]), _fmt(result["recovery"]), _fmt(result["gold_row"]["recovery"]))
    return result


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def _gold_under_attack(run: _Run, attack, device: str | None, tasks: list[str], which: str = "gold") -> Path:
    """The gold (or target) model under the same attack, scored on the same tasks (cached across runs of that
    model)."""
    from ..data.demo import cache_dir
    from ..eval.run import evaluate
    from ..training.families import FAMILIES
    from ..utils import hardware

    gold = run.manifest.get(which)
    if not gold:
        raise ClearBenchError(f"{run.dir}: the saved model's manifest names no {which} model to attack as the "
                              "reference")
    ctx = AttackContext(track=run.track, family=run.manifest["family"], source=run.source, manifest=run.manifest,
                        identity=run.identity, which=which, device=device)
    key = stable_hash([gold["fingerprint"], attack.name, attack.settings(), run.eval.as_dict(), tasks,
                       run.source.clear, run.source.tofu, _gold_key(attack, ctx)])
    out = cache_dir() / "evals" / f"{run.track.cache_prefix}attack-{attack.name}-{which}-{key}"
    from ..eval import logs

    if all(logs.task_done(out, t) for t in tasks) if out.is_dir() else False:
        return out
    model, processor = FAMILIES.get(run.manifest["family"]).load(gold["path"], device=device,
                                                                 trust_remote_code=bool(run.manifest.get(
                                                                     "trust_remote_code")))
    model = attack.apply(model, processor, ctx)
    evaluate(model, processor, run.source, out, run.eval, tasks=tasks, transform=_transform(attack, ctx),
             run_info={"model": gold["path"], "attack": attack.name, "attack_settings": attack.settings(),
                       "hardware": hardware(), "track": run.track.name, **run.eval.as_dict()})
    return out


def _add_to_record(run: _Run, results: dict) -> None:
    """submission.json gains `attacks` (per attack: forget and retain after it, recovery, gold's recovery) and
    `robust_forget` (the worst forget metric over the attacks run), and is re-hashed."""
    from ..leaderboard.records import record_hash, write_record

    record = dict(run.record)
    record["attacks"] = {name: {k: r.get(k) for k in ("forget", "forget_before", "retain", "retain_before", "recovery",
                                                       "recovery_prob", "recovery_rouge", "changes", "settings", "cost",
                                                       "scored_persons")}
                         | {"gold_recovery": r.get("gold_row", {}).get("recovery"),
                            "gold_recovery_prob": r.get("gold_row", {}).get("recovery_prob"),
                            "gold_recovery_rouge": r.get("gold_row", {}).get("recovery_rouge")}
                         for name, r in results.items()}
    worst = [r["forget"] for r in results.values() if r.get("forget") is not None and r.get("scored_persons") is None]
    record["robust_forget"] = max(worst) if worst else None  # the forget metric is lower-is-better on both tracks
    record["record_hash"] = record_hash(record)
    write_record(run.dir / "submission.json", record)
    run.record = record
