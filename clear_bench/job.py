"""The main job behind `clear-eval`: fine-tune (or reuse) target and gold, unlearn, evaluate, report.

Every expensive unit is cached and resumable: fine-tuned models by a manifest fingerprint, task
evaluations by their per-item log files. A run folder ends up with:
  results.md / results.png   before (target) / after (unlearned) / gold, side by side
  eval/                      per-item logs + summary.json / summary.md of the unlearned model
  submission.json            the leaderboard record
  unlearn.json               training log of the unlearning (losses, steps, time, cost, what the method reports)
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ClearBenchError
from .utils import atomic_write_json, atomic_write_text, check_writable, library_versions, seed_everything, stable_hash

log = logging.getLogger(__name__)


@dataclass
class JobConfig:
    """One `clear-eval` run. Unset values (None) take the preset's.

    Attributes:
        method: unlearning method: a registered name, `module:Class`, or an entry-point name.
        modality: forget stream: text (TOFU QA), image (CLEAR images) or both.
        forget: forget-set size in percent of persons: 1, 5 or 10.
        preset: paper (Hub data, Qwen2-VL-2B, GPU) or demo (offline data, tiny model, CPU).
        data: local folder with clear/ and tofu/ in the Hub layout, or a Hub id of CLEAR.
        model: base model (Hub id or folder) to fine-tune, or 'tiny'.
        lora_r: LoRA rank of the unlearning adapters (0 = full fine-tuning).
        l1_lambda: λ of the L1 penalty on the trainable (LoRA) weights.
        epochs: unlearning epochs over the forget set.
        lr: unlearning learning rate.
        batch_size: unlearning batch size (forget items per step).
        seed: seed of pairing, shuffling and initialisation.
        out: run folder (default: runs/<method>-<modality>-forget<NN>).
        cap: items per evaluation task (first in dataset order).
        method_args: method hyper-parameters, e.g. {"beta": 0.2}.
        compile: fine-tune target and gold with compiled blocks (`TrainConfig.compile`); None: the preset's.
    """

    method: str = "npo"
    modality: str = "both"
    forget: int = 10
    preset: str = "paper"
    data: str | None = None
    model: str | None = None
    lora_r: int | None = None
    l1_lambda: float = 0.0
    epochs: float | None = None
    lr: float | None = None
    batch_size: int | None = None
    seed: int = 42
    out: str | None = None
    cap: int | None = None
    method_args: dict = field(default_factory=dict)
    compile: bool | None = None


def _parse_bool(raw) -> bool:
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)  # a typo must not read as False


def build_method(name: str, args: dict):
    """Instantiate a method with `args` overriding its Config defaults (unknown keys fail clearly)."""
    from .baselines import get_method

    cls = get_method(name)
    cfg_cls = cls.Config
    known = {f.name: f for f in dataclasses.fields(cfg_cls)}
    values = {}
    for key, raw in args.items():
        if key not in known:
            raise ClearBenchError(f"method '{name}' has no hyper-parameter '{key}'; it has: "
                                  f"{', '.join(known) or 'none'}")
        typ = type(getattr(cfg_cls(), key))
        try:
            values[key] = _parse_bool(raw) if typ is bool else typ(raw)
        except ValueError:
            raise ClearBenchError(f"method '{name}': {key}={raw!r} is not a valid {typ.__name__}"
                                  f"{' (true/false)' if typ is bool else ''}") from None
    return cls(cfg_cls(**values))


def _resolve(cfg: JobConfig):
    from .baselines import get_method
    from .cli import resolve_source
    from .presets import get_preset
    from .training.unlearn import MODALITIES, with_overrides

    if cfg.modality not in MODALITIES:
        raise ClearBenchError(f"unknown modality '{cfg.modality}'; valid: {', '.join(MODALITIES)}")
    from .data.schema import forget_configs

    forget_configs(cfg.forget)
    if cfg.cap is not None and cfg.cap < 0:
        raise ClearBenchError(f"--cap must be a number of items per task, or 0 for all (got {cfg.cap})")
    preset = get_preset(cfg.preset)
    if cfg.compile is not None:
        preset = dataclasses.replace(preset, finetune=dataclasses.replace(preset.finetune, compile=cfg.compile))
    demo = get_method(cfg.method).demo_overrides if preset.name == "demo" else {}  # (UnlearningMethod docs)
    preset = dataclasses.replace(preset, unlearn=with_overrides(preset.unlearn, demo))
    method = build_method(cfg.method, {**demo.get("method", {}), **cfg.method_args})
    # the unlearning recipe with the run's seed, --epochs, --lr, --batch-size: bad values fail here, before the
    # fine-tunes (TrainConfig checks itself)
    overrides = dict(epochs=cfg.epochs, lr=cfg.lr, batch_size=cfg.batch_size)
    train = dataclasses.replace(preset.unlearn.train, seed=cfg.seed,
                                **{k: v for k, v in overrides.items() if v is not None})
    source = resolve_source(argparse.Namespace(data=cfg.data, tofu=None), preset)
    return preset, method, source, train


def _file_fingerprint(folder: Path) -> str:
    manifest = folder / "clear_manifest.json"
    return json.loads(manifest.read_text())["fingerprint"] if manifest.exists() else stable_hash(str(folder))


def finetune_recipe(preset, split: str, model: str | None = None):
    """The preset's fine-tuning recipe on `split` (full: the target model; retainNN: the gold model)."""
    from .training.finetune import FinetuneConfig

    return FinetuneConfig(model=model or preset.model, split=split, lora_r=preset.lora_r, train=preset.finetune,
                          extra_requests=preset.finetune_requests, replay_world_knowledge=preset.finetune_replay)


def cached_finetune(preset, source, split: str, model: str | None = None) -> Path:
    """The fine-tuned model folder of (recipe, data) in the cache; trained on first use."""
    from .presets import cache_dir
    from .training.finetune import finetune

    fc = finetune_recipe(preset, split, model)
    key = stable_hash([dataclasses.asdict(fc), source.clear, source.tofu])
    cache = cache_dir()
    return finetune(fc, source, cache / "models" / f"{split}-{key}", cache_dir=cache / "models")


def run_job(cfg: JobConfig) -> Path:
    """Run the whole job; returns the run folder."""
    from .baselines import UnlearnInputs
    from .data.convert import training_samples
    from .data.schema import forget_configs
    from .efficiency import efficiency, measure
    from .eval.run import evaluate
    from .eval.summary import compare_summaries
    from .eval.plots import run_bars
    from .leaderboard.records import make_record, write_record
    from .models.loading import load_model
    from .presets import cache_dir
    from .training.finetune import base_model as resolve_base, data_fingerprint, training_cost
    from .training.unlearn import holdout_samples, make_pairs, select_forget, unlearn

    preset, method, source, unlearn_train_cfg = _resolve(cfg)
    names = forget_configs(cfg.forget)
    out = Path(cfg.out or f"runs/{method.name or cfg.method.replace(':', '.')}-{cfg.modality}-forget{cfg.forget:02d}")
    check_writable(out)
    # Fail before any training if the data is unreachable or malformed.
    source.load("clear", names["forget_mixed"])
    holdout = holdout_samples(source, cfg.modality) if method.needs_holdout else []
    cache = cache_dir()
    base_model = cfg.model or preset.model
    timings = {}

    def tuned(split: str) -> Path:
        t = time.time()
        path = cached_finetune(preset, source, split, base_model)
        timings[f"finetune_{split}_s"] = round(time.time() - t, 2)
        return path

    target_dir = tuned("full")
    gold_dir = tuned(names["retain"])
    cap = preset.eval_cap if cfg.cap is None else (cfg.cap or None)  # 0 = every item, as in `evaluate`
    ev = dict(forget=cfg.forget, cap=cap, max_new_tokens=preset.max_new_tokens)

    def cached_eval(model_dir: Path, name: str, gold: Path | None = None) -> tuple[Path, dict]:
        run = cache / "evals" / f"{name}-{stable_hash([_file_fingerprint(model_dir), ev])}"
        model, processor = load_model(str(model_dir))
        summary = evaluate(model, processor, source, run, gold_dir=gold, run_info={"model": str(model_dir), **ev},
                           **ev)
        return run, summary

    from accelerate import PartialState

    state = PartialState()  # under `accelerate launch`, every process unlearns; the main process evaluates
    if state.is_main_process:
        gold_eval, gold_summary = cached_eval(gold_dir, "gold")
        target_eval, target_summary = cached_eval(target_dir, "target", gold_eval)
    state.wait_for_everyone()

    # ---- unlearning
    seed_everything(cfg.seed)
    u = preset.unlearn
    ucfg = dataclasses.replace(u, modality=cfg.modality, forget=cfg.forget, l1_lambda=cfg.l1_lambda,
                               lora_r=u.lora_r if cfg.lora_r is None else cfg.lora_r, train=unlearn_train_cfg)
    forget = select_forget(training_samples(source.load("clear", names["forget_mixed"]), source.clear,
                                            names["forget_mixed"]), cfg.modality)
    retain = training_samples(source.load("clear", names["retain_mixed"]), source.clear, names["retain_mixed"])
    model, processor = load_model(str(target_dir))
    target_recipe = finetune_recipe(preset, "full", base_model)
    inputs = UnlearnInputs(holdout=holdout, source=source, finetune=target_recipe, cache_dir=cache, seed=cfg.seed,
                           base=resolve_base(target_recipe, source, cache / "models"))
    method.prepare(processor, inputs)  # training-time work (SISA's shard adapters): not part of the cost
    with measure() as clock:
        ckpt = out / f".checkpoint-{stable_hash([dataclasses.asdict(ucfg), cfg.method, cfg.method_args])}"
        model, result = unlearn(model, processor, method, make_pairs(forget, retain, cfg.seed), ucfg, inputs=inputs,
                                checkpoint_dir=ckpt)
    timings["unlearn_s"] = round(clock.cost.wall_s, 2)
    # cost against retraining = fine-tuning the gold model (read from its manifest when it was cached)
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
    config = {"method": cfg.method, "method_config": dataclasses.asdict(method.config),
              "unlearn": dataclasses.asdict(ucfg), "preset": preset.name, "base_model": base_model,
              "finetune": dataclasses.asdict(preset.finetune), "eval": ev}
    summary = evaluate(model, processor, source, out / "eval", gold_dir=gold_eval,
                       run_info={"method": cfg.method, "seed": cfg.seed, "efficiency": eff, **config}, **ev)
    shutil.rmtree(ckpt, ignore_errors=True)  # kept until now: a run killed during evaluation skips unlearning
    labelled = {"target": {**target_summary, "run": "target (before)"},
                "unlearned": {**summary, "run": f"{cfg.method} (after)"},
                "gold": {**gold_summary, "run": "gold (retain only)"}}
    table = compare_summaries(list(labelled.values()))
    title = f"{cfg.method} · {cfg.modality} · forget {cfg.forget}% · {preset.name} preset"
    atomic_write_text(out / "results.md", f"# {title}\n\n{table}")
    run_bars(labelled, out / "results.png", title)
    record = make_record(
        method=cfg.method, modality=cfg.modality, forget=cfg.forget, seed=cfg.seed, config=config,
        data={"clear": source.clear, "tofu": source.tofu,
              "fingerprint": data_fingerprint(source, "clear", names["forget_mixed"])},
        model={"base": base_model, "target": _file_fingerprint(target_dir), "gold": _file_fingerprint(gold_dir)},
        versions=library_versions(), metrics=summary["metrics"], efficiency={**timings, **eff})
    write_record(out / "submission.json", record)
    return out
