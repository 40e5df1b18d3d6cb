"""`clear-eval --track text`: the text-only track (CLEAR Table 4) end to end.

Fine-tune (or reuse) a causal LM on TOFU `full` (target) and `retainNN` (gold), unlearn the TOFU
forget authors with a method of the shared registry, evaluate on forget / retain QA, real authors and
world facts. Same run folder, caching, resume and error rules as the multimodal job (`job.py`):
  results.md / results.png   before (target) / after (unlearned) / gold, side by side
  eval/                      per-item logs + summary.json / summary.md of the unlearned model
  submission.json            the leaderboard record, with "track": "text"
  unlearn.json               training log of the unlearning
"""
from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

from .. import runs
from ..errors import ClearBenchError
from ..utils import atomic_write_json, atomic_write_text, hardware, library_versions, seed_everything, stable_hash

log = logging.getLogger(__name__)
TRACK = "text"
# Methods that cannot run on a causal LM alone, and why (a method class may also say so itself with a
# `tracks` attribute that leaves out "text").
REFUSED = {"sisa": "it retrains shard adapters on the multimodal fine-tune data (CLEAR full+tofu on the VLM)"}
# VLM-only base models by name (the multimodal track's offline models).
VLM_MODELS = ("tiny-qwen2vl",)
TEXT_BARS = (("text_forget_metric", "Forget ↓"), ("text_retain_metric", "Retain ↑"),
             ("text_real_metric", "Real ↑"), ("text_model_utility", "Utility ↑"),
             ("text_forget/forget_quality_ks", "Forget quality (KS p) ↑"))


def check_text_job(cfg) -> None:
    """One-line errors for what only the multimodal track has (VLMs, image-bound methods)."""
    from ..baselines import get_method

    if cfg.model in VLM_MODELS:
        raise ClearBenchError(f"--model {cfg.model} is a vision-language model; the text track takes a causal "
                              "LM (Hub id or folder) or 'tiny'")
    cls = get_method(cfg.method)
    why = REFUSED.get(cfg.method) or (None if TRACK in getattr(cls, "tracks", (TRACK,)) else "it needs images")
    if why:
        raise ClearBenchError(f"method '{cfg.method}' does not run on the text track: {why}")


def _file_fingerprint(folder: Path) -> str:
    import json

    manifest = folder / "clear_manifest.json"
    return json.loads(manifest.read_text())["fingerprint"] if manifest.exists() else stable_hash(str(folder))


def run_text_job(cfg) -> Path:
    """Run the text track for a `job.JobConfig`; returns the run folder."""
    from ..baselines import UnlearnInputs
    from ..data.convert import training_samples
    from ..data.schema import forget_configs
    from ..efficiency import efficiency, measure
    from ..eval.plots import run_bars
    from ..eval.run import evaluate
    from ..eval.summary import compare_summaries
    from ..eval.tasks import TEXT_TASKS
    from ..job import build_method
    from ..leaderboard.records import make_record, reference_values, write_record
    from ..presets import cache_dir
    from ..training.finetune import data_fingerprint, training_cost
    from ..training.unlearn import holdout_samples, make_pairs, unlearn
    from .finetune import cached_text_finetune, finetune_recipe, text_base_model
    from .models import load_causal_lm
    from .presets import get_text_preset

    # ---- everything that can fail on bad input, before any training
    check_text_job(cfg)
    names = forget_configs(cfg.forget)
    if cfg.cap is not None and cfg.cap < 0:
        raise ClearBenchError(f"--cap must be a number of items per task, or 0 for all (got {cfg.cap})")
    preset = get_text_preset(cfg.preset)
    finetune_cfg = preset.finetune if cfg.compile is None else dataclasses.replace(preset.finetune,
                                                                                   compile=cfg.compile)
    preset = dataclasses.replace(preset, finetune=finetune_cfg)
    method = build_method(cfg.method, cfg.method_args)
    overrides = dict(epochs=cfg.epochs, lr=cfg.lr, batch_size=cfg.batch_size)
    train_cfg = dataclasses.replace(preset.unlearn.train, seed=cfg.seed,
                                    **{k: v for k, v in overrides.items() if v is not None})
    from ..data.sources import DataSource

    source = DataSource.resolve(cfg.data, cfg.tofu, preset.data)
    out = Path(cfg.out or f"runs/text-{method.name or cfg.method.replace(':', '.')}-forget{cfg.forget:02d}")
    forget = training_samples(source.load("tofu", names["forget"]), source.name("tofu"), names["forget"])
    retain = training_samples(source.load("tofu", names["retain"]), source.name("tofu"), names["retain"])
    for t in TEXT_TASKS.values():
        source.load(t.dataset, t.config_for(cfg.forget))
    holdout = holdout_samples(source, "text") if method.needs_holdout else []
    cache = cache_dir()
    base_model = cfg.model or preset.model
    timings = {}
    cap = preset.eval_cap if cfg.cap is None else (cfg.cap or None)  # 0 = every item
    ev = dict(forget=cfg.forget, cap=cap, max_new_tokens=preset.max_new_tokens)
    trc = cfg.trust_remote_code
    u = preset.unlearn
    ucfg = dataclasses.replace(u, modality=TRACK, forget=cfg.forget, l1_lambda=cfg.l1_lambda,
                               lora_r=u.lora_r if cfg.lora_r is None else cfg.lora_r, train=train_cfg)
    identity = runs.clear_eval_identity(
        method=cfg.method, method_config=dataclasses.asdict(method.config), modality=TRACK, forget=cfg.forget,
        seed=cfg.seed, preset=preset.name, unlearn=dataclasses.asdict(ucfg), cap=cap,
        finetune=[dataclasses.asdict(finetune_recipe(preset, s, base_model, trc)) for s in ("full", names["retain"])],
        max_new_tokens=ev["max_new_tokens"], track=TRACK,
        data={"tofu": source.tofu, **{c: data_fingerprint(source, "tofu", c) for c in
              ("full", names["retain"], names["forget"])}})
    run = runs.claim(out, runs.CLEAR_EVAL, identity)  # another run's folder is refused here, before any work

    def tuned(split: str) -> Path:
        t = time.time()
        path = cached_text_finetune(preset, source, split, base_model, trc)
        timings[f"finetune_{split}_s"] = round(time.time() - t, 2)
        return path

    target_dir = tuned("full")
    gold_dir = tuned(names["retain"])
    tasks = list(TEXT_TASKS)

    def cached_eval(model_dir: Path, name: str, gold: Path | None = None) -> tuple[Path, dict]:
        run = cache / "evals" / f"text-{name}-{stable_hash([_file_fingerprint(model_dir), ev, tasks, source.tofu])}"
        model, tok = load_causal_lm(str(model_dir), trust_remote_code=trc)
        summary = evaluate(model, tok, source, run, tasks=tasks, gold_dir=gold,
                           run_info={"model": str(model_dir), "track": TRACK, **ev}, **ev)
        return run, summary

    from accelerate import PartialState

    state = PartialState()  # under `accelerate launch`, every process unlearns; the main process evaluates
    if state.is_main_process:
        gold_eval, gold_summary = cached_eval(gold_dir, "gold")
        target_eval, target_summary = cached_eval(target_dir, "target", gold_eval)
    state.wait_for_everyone()

    # ---- unlearning
    seed_everything(cfg.seed)
    model, tok = load_causal_lm(str(target_dir), trust_remote_code=trc)
    recipe = finetune_recipe(preset, "full", base_model, trc)
    inputs = UnlearnInputs(holdout=holdout, source=source, finetune=recipe, cache_dir=cache, seed=cfg.seed,
                           base=text_base_model(recipe, source, cache / "models"))
    method.prepare(tok, inputs)
    run.start()
    with measure() as clock:
        ckpt = run.checkpoint_dir()
        model, result = unlearn(model, tok, method, make_pairs(forget, retain, cfg.seed), ucfg, inputs=inputs,
                                checkpoint_dir=ckpt)
    timings["unlearn_s"] = round(clock.cost.wall_s, 2)
    eff = efficiency(clock.cost, training_cost(gold_dir))
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "unlearn.json", {"steps": result.steps, "losses": result.losses,
                                              "seconds": result.seconds, "stopped_at": result.stopped_at,
                                              "cost": eff, "info": result.info})
    if result.stopped_at is not None:
        raise ClearBenchError(f"unlearning stopped at step {result.stopped_at}: the loss was not finite "
                              "(try a lower --lr); see unlearn.json")
    if not state.is_main_process:
        return out

    # ---- evaluation of the unlearned model, results
    config = {"track": TRACK, "method": cfg.method, "method_config": dataclasses.asdict(method.config),
              "unlearn": dataclasses.asdict(ucfg), "preset": preset.name, "base_model": base_model,
              "finetune": dataclasses.asdict(preset.finetune), "eval": ev}
    summary = evaluate(model, tok, source, out / "eval", tasks=tasks, gold_dir=gold_eval,
                       run_info={"method": cfg.method, "seed": cfg.seed, "efficiency": eff, **config}, **ev)
    labelled = {"target": {**target_summary, "run": "target (before)"},
                "unlearned": {**summary, "run": f"{cfg.method} (after)"},
                "gold": {**gold_summary, "run": "gold (retain only)"}}
    title = f"{cfg.method} · text track · forget {cfg.forget}% · {preset.name} preset"
    atomic_write_text(out / "results.md", f"# {title}\n\n{compare_summaries(list(labelled.values()))}")
    run_bars(labelled, out / "results.png", title, bars=TEXT_BARS)
    record = make_record(
        method=cfg.method, modality=TRACK, forget=cfg.forget, seed=cfg.seed, config=config,
        data={"tofu": source.tofu, "fingerprint": data_fingerprint(source, "tofu", names["forget"])},
        model={"base": base_model, "target": _file_fingerprint(target_dir), "gold": _file_fingerprint(gold_dir)},
        versions=library_versions(), metrics=summary["metrics"], efficiency={**timings, **eff}, track=TRACK,
        reference=reference_values(target_summary, gold_summary), hardware=hardware())
    write_record(out / "submission.json", record)
    run.finish()  # the checkpoint was kept until now: a run killed during evaluation skips unlearning
    return out
