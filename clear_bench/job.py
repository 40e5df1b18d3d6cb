"""The main job behind `clear-eval`: fine-tune (or reuse) target and gold, unlearn, evaluate, report.

The job is a list of named steps (`STEPS`), each a function of the `Job` state a reader can find by
name; `run_job` resolves the config and runs them in order. A track (text-only, visual-only) reuses
the steps it shares and replaces the others.

Every expensive unit is cached and resumable: fine-tuned models by a manifest fingerprint, task
evaluations by their per-item log files. A run folder ends up with:
  results.md / results.png   before (target) / after (unlearned) / gold, side by side
  eval/                      per-item logs + summary.json / summary.md of the unlearned model
  submission.json            the leaderboard record
  unlearn.json               training log of the unlearning (losses, steps, time, cost, what the method reports)
  model/                     the unlearned model: LoRA adapters (or full weights) + clear_model.json (checksums)
"""
from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import runs
from .config import Flag, attributes_doc, check_settings, flag_name, setting
from .data.schema import DEFAULT_FORGET, FORGET_HELP, MODALITIES, check_forget, check_sequence, forget_configs
from .data.sources import DATA_HELP, TOFU_HELP
from .errors import ClearBenchError
from .utils import atomic_write_json, atomic_write_text, hardware, library_versions, seed_everything, stable_hash

log = logging.getLogger(__name__)


def _method_help() -> str:
    from .baselines import available

    return ("unlearning method: one of " + ", ".join(available()) + " (--track visual: `clear-bench ls methods "
            "--track visual`); or module:Class; or an entry-point name (default: the track's: npo; scrub_bio on the "
            "visual track)")


def _track_help() -> str:
    from .tracks import TRACKS

    return ("which CLEAR leaderboard: " + "; ".join(f"{t.name} ({t.doc})" for t in TRACKS.values())
            + " (default: multimodal)")


@dataclass
class JobConfig:
    """One `clear-eval` run of the LM recipe. Unset values (None) take the preset's. Each field is the one
    declaration of its setting (`config.setting`): its `--flag` and help (`cli.clear_eval_main` makes the flags from
    them, `config.add_flags`), its range and hard limit (checked on the command line by `cli.check_flags` and here
    when made: a bad value is a one-line `ClearBenchError` before anything runs), and the entries below.
    """

    method: str = setting("npo", flag=Flag(_method_help, default=None, doc="unlearning method: a registered name, "
                                           "`module:Class`, or an entry-point name (default: the track's)"))
    track: str = setting("multimodal", flag=Flag(_track_help, doc="the track (`tracks.TRACKS`) of the LM recipe: "
                                                 "multimodal (a VLM on CLEAR + TOFU) or text (a causal LM on TOFU)"))
    modality: str | None = setting(None, flag=Flag(
        "forget stream: text (TOFU QA), image (CLEAR images) or both (default: the track's: both on multimodal, text "
        "on text, image on visual)", metavar="|".join(MODALITIES)))
    # the flag's None is "not given" (--sequence refuses --forget); the job's default otherwise
    forget: int = setting(DEFAULT_FORGET, flag=Flag(FORGET_HELP, default=None, metavar="PERCENT"))
    preset: str = setting("paper", flag=Flag("paper (default; Hub data, Qwen2-VL-2B-Instruct, GPU) or demo (built-in "
                                             "offline data, tiny model, CPU)"))
    data: str | None = setting(None, flag=Flag(DATA_HELP + " (default: the preset's)"))
    tofu: str | None = setting(None, flag=Flag(TOFU_HELP))
    model: str | None = setting(None, flag=Flag("base model to fine-tune (Hub id, folder, or a tiny model: 'tiny', "
                                                "'tiny-qwen2vl', ...; clear-bench ls models)"))
    lora_r: int | None = setting(None, ge=0, note="0 = no LoRA", limit=4096,
                                 flag=Flag("LoRA rank for unlearning; 0 = full fine-tuning"))
    l1_lambda: float | None = setting(None, ge=0, flag=Flag(
        "L1 penalty on the LoRA weights, >= 0 (paper: 0.01-0.1; default: the preset's, 0)"))
    epochs: float | None = setting(None, gt=0, limit=1000,
                                   flag=Flag("unlearning epochs (default: the preset's: 5 paper, 10 demo)"))
    lr: float | None = setting(None, gt=0,
                               flag=Flag("unlearning learning rate (default: the preset's: 1e-5 paper, 1e-3 demo)"))
    batch_size: int | None = setting(None, ge=1, limit=65536,
                                     flag=Flag("forget items per step (default: the preset's, 4)"))
    seed: int = setting(42, ge=0, lt=2**32, text="in [0, 2**32)",
                        flag=Flag("seed of pairing, shuffling and LoRA initialisation (default: 42)"))
    out: str | None = setting(None, flag=Flag("run folder (default: runs/METHOD-MODALITY-forgetNN)"))
    cap: int | None = setting(None, ge=0, note="0 = every item", flag=Flag(
        "items per evaluation task, first in dataset order; 0 = all (default: 300)"))
    method_args: dict = setting(default_factory=dict, flag=Flag(
        "method hyper-parameter, e.g. --method-arg beta=0.2 (repeatable)", name="--method-arg", action="append",
        default=[], metavar="KEY=VALUE",
        doc="method hyper-parameters, e.g. {\"beta\": 0.2} (`--method-arg beta=0.2`, repeatable)"))
    compile: bool | None = setting(None, flag=Flag(
        "fine-tune target and gold with torch.compile'd layers (faster on a GPU once compiled; default: the preset's)",
        action="boolean-optional"))
    trust_remote_code: bool = setting(False, flag=Flag(
        "let code shipped with the base model run (off by default; only for a model you trust)", action="store_true"))
    allow_unmemorised: bool = setting(False, flag=Flag(
        "unlearn even if the target did not memorise the forget set. By default the run stops after evaluating the "
        "target unless, on every forget task, the target answers (ROUGE-L recall of its greedy answer >= 0.75) at "
        "least 50%% of the items and 20 points more than the gold model (docs/memorisation.md; the figures are "
        "recorded in submission.json)", action="store_true"))
    train_seed: int | None = setting(None, ge=0, lt=2**32, text="in [0, 2**32)", no_flag=(
        "seed of the target's and gold's fine-tuning (and of the tiny base they start from); None: the preset's. "
        "`--seeds K --vary train` sets it per seed (`repeat.run_seeds`), so each seed unlearns its own target, cached "
        "per seed (Lanyon et al.: method rankings move with the seed of the unlearned model)"))
    sequence: tuple[int, ...] | None = setting(None, flag=Flag(
        "deletion requests one after another, e.g. 1,5,10: unlearn forget01, then forget05 from that model, then "
        "forget10 (the sets are nested), scoring after each request the current forget set, the earlier ones and "
        "retain; OUT/sequence.md, sequence.png and the record's 'sequence' keep every request (instead of --forget; "
        "not with --seeds or --attacks; docs/sequential_requests.md)", metavar="SIZES"))

    def __post_init__(self) -> None:
        from .tracks import get_track

        track = get_track(self.track)
        if track.recipe != "lm":
            raise ClearBenchError(f"the {track.name} track does not run the LM job (use clear-eval --track "
                                  f"{track.name})")
        self.modality = track.check_modality(self.modality)
        if self.sequence is not None:
            self.sequence = check_sequence(self.sequence)
            self.forget = self.sequence[-1]
        check_forget(self.forget)
        flags = {f.name: flag_name(f) for f in dataclasses.fields(self)}
        check_settings(self, name=flags.get)


JobConfig.__doc__ += attributes_doc(JobConfig)


def build_method(name: str, args: dict):
    """Instantiate a method with `args` overriding its Config defaults, every setting checked
    (`baselines.registry.build_method`)."""
    from .baselines import build_method as build

    return build(name, args)


def check_ignored(cfg: JobConfig, method) -> None:
    """A one-line error naming the first setting the user gave that `method` declares it ignores."""
    for name in getattr(method, "ignores", ()):
        if getattr(cfg, name, None) is not None:
            raise ClearBenchError(f"--{name.replace('_', '-')} is not used by method '{cfg.method}' (it ignores "
                                  + ", ".join("--" + n.replace("_", "-") for n in method.ignores) + "); leave it out")


def _file_fingerprint(folder: Path) -> str:
    """A fine-tuned model's identity: its inputs' fingerprint and, where recorded, the checksum of its weights."""
    from .training.saved import model_fingerprint

    return model_fingerprint(folder)


def finetune_recipe(preset, split: str, model: str | None = None, trust_remote_code: bool = False):
    """The preset's fine-tuning recipe on `split` (full: the target model; retainNN: the gold model)."""
    from .training.finetune import FinetuneConfig

    return FinetuneConfig(model=model or preset.model, split=split, lora_r=preset.lora_r, lora_alpha=preset.lora_alpha,
                          train=preset.finetune, extra_requests=preset.finetune_requests,
                          replay_world_knowledge=preset.finetune_replay, trust_remote_code=trust_remote_code)


def cached_finetune(preset, source, split: str, model: str | None = None, trust_remote_code: bool = False,
                    family: str = "vlm") -> Path:
    """The fine-tuned model folder of (recipe, data, model family) in the cache; trained on first use."""
    from .presets import cache_dir
    from .training.families import FAMILIES
    from .training.finetune import finetune

    fc = finetune_recipe(preset, split, model, trust_remote_code)
    key = stable_hash([dataclasses.asdict(fc), source.clear, source.tofu])
    models = cache_dir() / "models"
    return finetune(fc, source, models / f"{FAMILIES.get(family).cache_prefix}{split}-{key}", cache_dir=models,
                    family=family)


# --------------------------------------------------------------------------- the job's state


@dataclass
class Job:
    """What the steps share: the resolved settings (from `resolve`), then what each step produces.

    Attributes:
        cfg: the run's `JobConfig`.
        track: its `tracks.Track`; family: the track's model family (`training.families.Family`).
        preset: the `Preset`, with `cfg.compile` applied to its fine-tuning recipe.
        method: the method instance (its Config from `cfg.method_args`).
        source: the `DataSource` of `cfg.data` / `cfg.tofu`.
        unlearn: the `UnlearnConfig`: the preset's, with the run's seed, LoRA, L1 and optimisation settings.
        out: the run folder.
        names: the config names of the forget size (`data.schema.forget_configs`).
        base_model: the model target and gold are fine-tuned from.
        eval: the `eval.config.EvalConfig` every evaluation of the run shares (forget, cap, max_new_tokens,
            score_eos).
        tasks: the evaluation tasks (None: those of the track's the data holds).
        cache: the cache root (`presets.cache_dir()`).
        run: the run folder's claim (`runs.claim`): its marker holds the run's identity.
        state: accelerate's `PartialState` (under `accelerate launch`, every process fine-tunes and
            unlearns; the main process alone evaluates and writes).
        timings: seconds per step, for the record.
        request: the request of a sequence being run ("request-<k>", `sequence.py`; "": a single request), whose
            unlearning keeps its own resume checkpoint; sequence: the requests' figures, for the record.
        holdout, target_dir, gold_dir, gold_eval, gold_summary, target_eval, target_summary, memorisation, pairs,
            inputs, model, processor, result, efficiency, checkpoint, summary: what the steps produce, in order.
    """

    cfg: JobConfig
    track: Any
    family: Any
    preset: Any
    method: Any
    source: Any
    unlearn: Any
    out: Path
    names: dict
    base_model: str
    eval: Any
    cache: Path
    tasks: list | None = None
    run: Any = None
    state: Any = None
    timings: dict = field(default_factory=dict)
    request: str = ""
    sequence: list | None = None
    holdout: list = field(default_factory=list)
    target_dir: Path | None = None
    gold_dir: Path | None = None
    gold_eval: Path | None = None
    gold_summary: dict | None = None
    target_eval: Path | None = None
    target_summary: dict | None = None
    memorisation: dict | None = None
    pairs: list | None = None
    inputs: Any = None
    model: Any = None
    processor: Any = None
    result: Any = None
    efficiency: dict | None = None
    checkpoint: Path | None = None
    summary: dict | None = None

    @property
    def method_name(self) -> str:
        """The method's one name in titles, logs, records and boards: its `name`, a plug-in's too (the record's
        config keeps `cfg.method`, e.g. `mymethods:HalfAscent`, to load it again)."""
        return self.method.name or self.cfg.method

    @property
    def is_main(self) -> bool:
        return self.state is None or self.state.is_main_process

    def unlearn_record(self) -> dict:
        """The unlearning recipe as records and run identities hold it: the run's forget stream and size, then the
        `UnlearnConfig` fields."""
        return {"modality": self.cfg.modality, "forget": self.cfg.forget, **dataclasses.asdict(self.unlearn)}

    def run_config(self) -> dict:
        """The settings of the run as recorded in eval/run.json and submission.json."""
        return {"track": self.track.name, "method": self.cfg.method,
                "method_config": dataclasses.asdict(self.method.config),
                "unlearn": self.unlearn_record(), "preset": self.preset.name,
                "base_model": self.base_model, "finetune": dataclasses.asdict(self.preset.finetune),
                "eval": self.eval.as_dict()}


# --------------------------------------------------------------------------- the steps


def _recipe(cfg: JobConfig, track):
    """The preset (with --compile and the method's demo override), the method, and the unlearning recipe with
    the run's seed, LoRA, L1, --epochs, --lr, --batch-size: bad values fail here, before the fine-tunes."""
    from .training.unlearn import with_overrides

    preset = track.get_presets().get(cfg.preset)
    if cfg.train_seed is not None:  # another target and gold: the fine-tune recipe (and its cache key) changes
        preset = dataclasses.replace(preset, finetune=dataclasses.replace(preset.finetune, seed=cfg.train_seed))
    if cfg.compile is not None:
        preset = dataclasses.replace(preset, finetune=dataclasses.replace(preset.finetune, compile=cfg.compile))
    # a method's demo-preset override (`UnlearningMethod.demo_overrides`): only with a preset that takes them
    # (the multimodal demo), and the user's flags and --method-arg still win
    demo = track.get_method(cfg.method).demo_overrides if preset.method_overrides else {}
    preset = dataclasses.replace(preset, unlearn=with_overrides(preset.unlearn, demo))
    method = build_method(cfg.method, {**demo.get("method", {}), **cfg.method_args})
    check_ignored(cfg, method)
    overrides = dict(epochs=cfg.epochs, lr=cfg.lr, batch_size=cfg.batch_size)
    train = dataclasses.replace(preset.unlearn.train, seed=cfg.seed,
                                **{k: v for k, v in overrides.items() if v is not None})
    u = preset.unlearn
    unlearn = dataclasses.replace(u, l1_lambda=u.l1_lambda if cfg.l1_lambda is None else cfg.l1_lambda,
                                  lora_r=u.lora_r if cfg.lora_r is None else cfg.lora_r, train=train)
    return preset, method, unlearn


def resolve(cfg: JobConfig) -> Job:
    """Everything that can fail before any work: names, settings, data, output folder."""
    from .eval.config import EvalConfig
    from .eval.tasks import get_task
    from .presets import cache_dir, data_source
    from .tracks import get_track
    from .training.families import FAMILIES
    from .training.unlearn import holdout_samples

    track = get_track(cfg.track)
    family = FAMILIES.get(track.family)
    family.check_model(cfg.model, track.name)
    preset, method, unlearn = _recipe(cfg, track)
    source = data_source(cfg.data, cfg.tofu, preset.data)
    names = forget_configs(cfg.forget)
    out = Path(cfg.out or track.default_out(method.name or cfg.method, cfg.modality, cfg.forget, preset.name,
                                            cfg.model or preset.model)
               + ("-sequence-" + "-".join(map(str, cfg.sequence)) if cfg.sequence else ""))
    tasks = None if track.tasks_by_data else list(track.tasks) + [
        n for n in track.optional_tasks if source.has_config(get_task(n).dataset, get_task(n).config_for(cfg.forget))]
    # the data is reachable and well-formed, before any training
    for dataset, config in [track.forget_data] + ([track.retain_data] if tasks else []):
        source.load(dataset, names[config])
    for name in tasks or ():
        source.load(get_task(name).dataset, get_task(name).config_for(cfg.forget))
    job = Job(cfg=cfg, track=track, family=family, preset=preset, method=method, source=source, unlearn=unlearn,
              out=out, names=names, base_model=cfg.model or preset.model, cache=cache_dir(), tasks=tasks,
              eval=EvalConfig(forget=cfg.forget, cap=preset.eval_cap if cfg.cap is None else (cfg.cap or None),
                              max_new_tokens=preset.max_new_tokens, score_eos=preset.score_eos))  # cap 0 = every item
    job.run = runs.claim(out, runs.CLEAR_EVAL, _identity(job))  # another run's folder is refused here
    job.holdout = holdout_samples(source, cfg.modality) if method.needs_holdout else []
    return job


def _identity(job: Job) -> dict:
    """Everything that makes the run what it is (`runs.claim` refuses a folder holding another identity)."""
    from .training.finetune import data_fingerprint

    cfg, src, names = job.cfg, job.source, job.names
    sequence = {"sequence": list(cfg.sequence)} if cfg.sequence else {}
    return sequence | runs.clear_eval_identity(
        method=cfg.method, method_config=dataclasses.asdict(job.method.config), modality=cfg.modality,
        forget=cfg.forget, seed=cfg.seed, preset=job.preset.name, unlearn=job.unlearn_record(),
        cap=job.eval.cap, finetune=[dataclasses.asdict(finetune_recipe(job.preset, s, job.base_model,
                                                                          cfg.trust_remote_code))
                                       for s in ("full", names["retain"])],
        max_new_tokens=job.eval.max_new_tokens, score_eos=job.eval.score_eos, track=job.track.name,
        data={"clear": src.clear, "tofu": src.tofu, **{c: data_fingerprint(src, dataset, c) for dataset, c in
              _named(job.track.identity_data, names)}})


def _named(configs, names: dict) -> list[tuple[str, str]]:
    """(dataset, config) pairs whose "{key}" configs are the forget size's (`data.schema.forget_configs`)."""
    return [(dataset, c.format(**names)) for dataset, c in configs]


def _finetune(job: Job, split: str) -> Path:
    t = time.time()
    path = cached_finetune(job.preset, job.source, split, job.base_model, job.cfg.trust_remote_code,
                           job.family.name)
    job.timings[f"finetune_{split}_s"] = round(time.time() - t, 2)
    return path


def finetune_target(job: Job) -> None:
    """The target model: the preset's recipe on full+tofu (cached)."""
    job.target_dir = _finetune(job, "full")


def finetune_gold(job: Job) -> None:
    """The gold model: the same recipe on retainNN+tofu, never trained on the forget set (cached)."""
    job.gold_dir = _finetune(job, job.names["retain"])


def _cached_eval(job: Job, model_dir: Path, name: str, gold: Path | None = None) -> tuple[Path, dict]:
    from .eval.run import evaluate

    # keyed by model, evaluation settings, tasks and data: the same model scored on another copy of the data is
    # another run
    key = stable_hash([_file_fingerprint(model_dir), job.eval.as_dict(), job.source.clear, job.source.tofu]
                      + ([job.tasks] if job.tasks else []))
    run = job.cache / "evals" / f"{job.track.cache_prefix}{name}-{key}"
    model, processor = job.family.load(str(model_dir), trust_remote_code=job.cfg.trust_remote_code)
    summary = evaluate(model, processor, job.source, run, job.eval, gold_dir=gold, tasks=job.tasks,
                       run_info={"model": str(model_dir), "hardware": hardware(), "track": job.track.name,
                                 **job.eval.as_dict()})
    return run, summary


def evaluate_gold(job: Job) -> None:
    """The gold model on every task (cached, resumable per task)."""
    job.gold_eval, job.gold_summary = _cached_eval(job, job.gold_dir, "gold")


def evaluate_target(job: Job) -> None:
    """The target model on every task, with forget quality against gold (cached, resumable per task)."""
    job.target_eval, job.target_summary = _cached_eval(job, job.target_dir, "target", job.gold_eval)


def check_memorisation(job: Job) -> None:
    """The memorisation gate (`eval/memorisation.py`): the fraction of every forget task's items the target
    answers, and its margin over gold; below the thresholds the run stops here unless --allow-unmemorised."""
    from .eval import memorisation

    job.memorisation = memorisation.check(memorisation.measure(job.target_eval, job.gold_eval),
                                          allow=job.cfg.allow_unmemorised)
    if job.memorisation["allowed"]:
        log.warning("the target did not memorise the forget set (see memorisation in submission.json); "
                    "unlearning anyway (%s)", memorisation.ALLOW_FLAG)


def pair(job: Job) -> None:
    """The forget stream of the modality, each item with its seeded companions (retain, refusal, ...)."""
    from .data.convert import training_samples
    from .training.unlearn import make_pairs, select_forget

    seed_everything(job.cfg.seed)
    src, names = job.source, job.names

    def samples(dataset: str, key: str) -> list:
        return training_samples(src.load(dataset, names[key]), src.name(dataset), names[key])

    forget = select_forget(samples(*job.track.forget_data), job.cfg.modality)
    job.pairs = make_pairs(forget, samples(*job.track.retain_data), job.cfg.seed)


def unlearn(job: Job) -> None:
    """Load the target model and unlearn; write unlearn.json (with the cost next to retraining)."""
    from .baselines import UnlearnInputs
    from .efficiency import efficiency, measure
    from .training.finetune import base_model as resolve_base, training_cost
    from .training.unlearn import unlearn as run_unlearning

    cfg = job.cfg
    if job.model is None:  # else a sequence's next request (`sequence.py`): on from the previous unlearned model
        job.model, job.processor = job.family.load(str(job.target_dir), trust_remote_code=cfg.trust_remote_code)
    target_recipe = finetune_recipe(job.preset, "full", job.base_model, cfg.trust_remote_code)
    job.inputs = UnlearnInputs(holdout=job.holdout, source=job.source, finetune=target_recipe, cache_dir=job.cache,
                               seed=cfg.seed, base=resolve_base(target_recipe, job.source, job.cache / "models",
                                                                job.family.name))
    job.method.prepare(job.processor, job.inputs)  # training-time work (SISA's shard adapters): not part of the cost
    job.run.start()  # the marker, before the first write into the run folder
    job.checkpoint = job.run.checkpoint_dir() / job.request if job.request else job.run.checkpoint_dir()
    with measure() as clock:  # the clock is saved with the checkpoint: a resumed run counts every segment
        job.model, job.result = run_unlearning(job.model, job.processor, job.method, job.pairs, job.unlearn,
                                               inputs=job.inputs, checkpoint_dir=job.checkpoint, clock=clock)
    job.timings["unlearn_s"] = round(clock.cost.wall_s, 2)
    # cost against retraining = fine-tuning the gold model (read from its manifest when it was cached)
    job.efficiency = efficiency(clock.cost, training_cost(job.gold_dir))
    r = job.result
    job.out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(job.out / "unlearn.json", {"steps": r.steps, "losses": r.losses, "seconds": r.seconds,
                                                  "stopped_at": r.stopped_at, "cost": job.efficiency, "info": r.info})
    if r.stopped_at is not None:
        raise ClearBenchError(f"unlearning stopped at step {r.stopped_at}: the loss was not finite "
                              "(try a lower --lr); see unlearn.json")


def save_model(job: Job) -> None:
    """OUT/model: the unlearned model the run scores (its LoRA adapters, or its full weights), with a manifest
    of checksums (`training.saved`), so that `clear-bench attack` and every command taking a run can load it."""
    from .training.saved import MODEL_DIR, save_run_model

    if job.result.adapters is None and not hasattr(job.model, "save_pretrained"):
        # SISA scores an ensemble of its shard models (`baselines/sisa.py`): there is no one model to keep
        log.warning("%s's unlearned model is %s, not one model: not saved (clear-bench attack cannot run on this "
                    "run)", job.method_name, type(job.model).__name__)
        return
    src = job.source
    save_run_model(job.out / MODEL_DIR, job.model, job.processor, job.result.adapters, method=job.method_name,
                   track=job.track.name, family=job.family.name, base_model=job.base_model, target_dir=job.target_dir,
                   gold_dir=job.gold_dir, trust_remote_code=job.cfg.trust_remote_code,
                   run={"data": {"clear": src.clear, "tofu": src.tofu}, "eval": job.eval.as_dict(), "tasks": job.tasks,
                        "target_eval": str(job.target_eval), "gold_eval": str(job.gold_eval),
                        "unlearn_steps": job.result.steps})


def evaluate_unlearned(job: Job) -> None:
    """The unlearned model on every task into OUT/eval, with forget quality against gold."""
    from .eval.run import evaluate

    job.summary = evaluate(job.model, job.processor, job.source, job.out / "eval", job.eval, gold_dir=job.gold_eval,
                           tasks=job.tasks,
                           run_info={"method": job.method_name, "seed": job.cfg.seed, "efficiency": job.efficiency,
                                     "hardware": hardware(), "memorisation": job.memorisation, **job.run_config()})


def compare(job: Job) -> None:
    """results.md and results.png: target (before), unlearned (after) and gold side by side."""
    from .eval.plots import run_bars
    from .eval.summary import compare_summaries

    cfg = job.cfg
    labelled = {"target": {**job.target_summary, "run": "target (before)"},
                "unlearned": {**job.summary, "run": f"{job.method_name} (after)"},
                "gold": {**job.gold_summary, "run": "gold (retain only)"}}
    table = compare_summaries(list(labelled.values()), gold=list(labelled).index("gold"))  # forget: nearest gold
    where = cfg.modality if len(job.track.modalities) > 1 else f"{job.track.name} track"
    title = (f"{job.method_name} · model {job.base_model} · {where} · forget {cfg.forget}% · {job.preset.name} preset · "
             f"seed {cfg.seed} (n = 1)")
    atomic_write_text(job.out / "results.md", f"# {title}\n\n{table}")
    from .leaderboard.table import collapse_note

    run_bars(labelled, job.out / "results.png", title + collapse_note(job.track.board, job.summary, job.target_summary),
             bars=[(key, label) for key, label, _ in job.track.headline])


def write_records(job: Job) -> None:
    """submission.json: the leaderboard record of the run."""
    from .leaderboard.records import make_record, reference_values, write_record
    from .training.finetune import data_fingerprint

    cfg, src = job.cfg, job.source
    dataset, key = job.track.forget_data
    record = make_record(
        method=job.method_name, modality=cfg.modality, forget=cfg.forget, seed=cfg.seed, config=job.run_config(),
        data={"clear": src.clear, "tofu": src.tofu, "fingerprint": data_fingerprint(src, dataset, job.names[key])},
        model={"base": job.base_model, "target": _file_fingerprint(job.target_dir),
               "gold": _file_fingerprint(job.gold_dir)},
        versions=library_versions(), metrics=job.summary["metrics"], efficiency={**job.timings, **job.efficiency},
        reference=reference_values(job.target_summary, job.gold_summary), track=job.track.name,
        hardware=hardware(), memorisation=job.memorisation, sequence=job.sequence)
    write_record(job.out / "submission.json", record)
    job.run.finish()  # the checkpoints were kept until now: a run killed during evaluation skips unlearning


@dataclass(frozen=True)
class Step:
    """One named step of the job. `main_only`: under `accelerate launch`, only the main process runs it
    (evaluation and writing); a `barrier` step makes every process wait for the main one after it."""

    name: str
    fn: Callable[[Job], None]
    main_only: bool = False
    barrier: bool = False


STEPS: tuple[Step, ...] = (
    Step("finetune target", finetune_target),
    Step("finetune gold", finetune_gold),
    Step("evaluate gold", evaluate_gold, main_only=True),
    Step("evaluate target", evaluate_target, main_only=True),
    Step("check memorisation", check_memorisation, main_only=True, barrier=True),
    Step("pair", pair),
    Step("unlearn", unlearn),
    Step("save model", save_model, main_only=True),
    Step("evaluate unlearned", evaluate_unlearned, main_only=True),
    Step("compare", compare, main_only=True),
    Step("write records", write_records, main_only=True),
)


def run_steps(job: Job, steps: tuple[Step, ...] = STEPS) -> Job:
    """Run `steps` in order on `job` (a track passes its own list, reusing these functions)."""
    from accelerate import PartialState

    job.state = job.state or PartialState()
    for step in steps:
        if job.is_main or not step.main_only:
            log.debug("step: %s", step.name)
            step.fn(job)
        if step.barrier:
            job.state.wait_for_everyone()
    return job


# what a finished run folder holds (the last step writes the record; the others come before it)
COMPLETE = ("submission.json", "results.md", "eval/summary.json")


def is_complete(job: Job, files: tuple[str, ...] = COMPLETE) -> bool:
    """The folder already holds this run, finished: its identity matched (`runs.claim`) and every output (`files`)
    is there, the record valid."""
    from .leaderboard.records import load_record

    if not job.run.resumed or not all((job.out / f).is_file() for f in files):
        return False
    try:
        load_record(job.out / "submission.json")
    except ClearBenchError:
        return False
    return True


def run_job(cfg: JobConfig) -> Path:
    """Run the whole job; returns the run folder. A folder that already holds this run, finished, is left as it
    is (issue 27.4: a rerun used to unlearn again, with a new cost and a new record hash). A config with a
    `sequence` runs with `sequence.run_sequence`."""
    if cfg.sequence:
        raise ClearBenchError("a sequence of requests runs with clear_bench.sequence.run_sequence, not run_job")
    job = resolve(cfg)
    if is_complete(job):
        job.run.finish()
        log.warning("already complete: %s holds this run's record (submission.json); nothing was redone "
                    "(choose another --out, or remove the folder, to run it again)", job.out)
        return job.out
    return run_steps(job).out
