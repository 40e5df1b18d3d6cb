"""The visual-track job behind `clear-eval --track visual`: split models, unlearning on each, face-ID
accuracies and membership attacks, report (CLEAR Table 5).

Cached and resumable: the face set and the split models in the cache (shared by every method's run), the
Original and Gold scores in the cache, and the method's per-split scores in the run folder (a killed run
continues at the next split model). The run folder ends up with:
  results.md / results.png   Original / the method / Gold side by side; the score histograms (Figure 6)
  summary.json               metrics with directions, config, costs
  scores.npz                 per split model and image: score and predicted identity (every metric
                             recomputes from it)
  submission.json            the leaderboard record ("track": "visual")
"""
from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .. import runs
from ..efficiency import Cost
from ..errors import ClearBenchError
from ..utils import (atomic_file, atomic_write_json, atomic_write_text, derive_seed, hardware, library_versions,
                     stable_hash)
from .data import FaceSet, load_faces
from .metrics import ASSIGNMENTS, RunScores, compute, embed, face_id
from .methods import UnlearnTask, build_method
from .presets import get_visual_preset
from .splits import SplitModels, cached_split_models, check_splits

log = logging.getLogger(__name__)
TRACK = "visual"
RUNS_VERSION = 2  # 2: per-split CPU seconds


@dataclass
class VisualJobConfig:
    """One `clear-eval --track visual` run. Unset values (None) take the preset's.

    Attributes:
        method: a visual method (`clear-bench ls methods --track visual`) or `module:Class`.
        forget: forget-set size in percent of persons: 1, 5 or 10.
        preset: paper (CLEAR from the Hub, ResNet-18, GPU) or demo (offline, tiny, CPU).
        data: local folder with clear/ in the Hub layout, a Hub id of CLEAR, or "demo".
        splits: number of split models (even, >= 4).
        seed: seed of the split draw, heads, shuffling and unlearning.
        out: run folder (default: runs/visual-<method>-forget<NN>-<preset>).
        method_args: method hyper-parameters, e.g. {"lr": "0.1"}.
        pretrain: teach the backbone face identity on the preset's celebrity set first (None: the preset's).
        attacks: attacks on every unlearned split model (`visual/robustness.py`), comma-separated or a list
            (`default`, `all`); None: none.
    """

    method: str = "scrub_bio"
    forget: int = 10
    preset: str = "paper"
    data: str | None = None
    splits: int | None = None
    seed: int = 42
    out: str | None = None
    method_args: dict = field(default_factory=dict)
    pretrain: bool | None = None
    attacks: str | list | None = None


def _source(data: str | None):
    from ..data.sources import DataSource
    from ..presets import demo_data_dir

    if data is None:
        return DataSource()
    return DataSource.from_path(demo_data_dir()) if data == "demo" else DataSource.from_path(data)


def _device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve(cfg: VisualJobConfig):
    """Everything that can fail before training: preset, method and its arguments, splits, forget size."""
    from ..data.schema import forget_configs

    preset = get_visual_preset(cfg.preset)
    forget_configs(cfg.forget)
    n = check_splits(preset.splits if cfg.splits is None else cfg.splits)
    method = build_method(cfg.method, cfg.method_args, preset.defaults_for(cfg.method))
    pretrain = preset.pretrain if cfg.pretrain is not False else None
    if cfg.pretrain and pretrain is None:
        raise ClearBenchError(f"the {preset.name} preset has no pretraining face set (--pretrain is for the paper "
                              "preset)")
    return preset, method, n, pretrain


def method_scores(method, name: str, splits: SplitModels, faces: FaceSet, preset, seed: int, folder: Path,
                  progress: bool = True, attacks: tuple[str, ...] = ()) -> tuple[RunScores, Cost]:
    """Run `method` on every split model (resuming at the first split without a result in `folder`); return the
    scores and the total unlearning cost (wall and CPU seconds; on a GPU the wall clock after a synchronise).
    `attacks`: each also attacks the unlearned split model (`robustness.attack_model`), its scores in
    `folder/split_KKK-ATTACK.npz` (`attacked_scores` reads them); a split whose scores exist but not an attack's is
    unlearned again for it (the same seed: the same model), its own scores kept."""
    from .robustness import attack_model
    from ..progress import progress_bar

    device, plan = _device(), splits.plan
    folder.mkdir(parents=True, exist_ok=True)
    for k in progress_bar(range(plan.n), desc=f"{name} on split models", disable=not progress):
        part = folder / f"split_{k:03d}.npz"
        pending = [a for a in attacks if not _attack_part(folder, k, a).exists()]
        if part.exists() and not pending:
            continue
        model = splits.load(k).to(device)
        task = UnlearnTask(model, faces, faces.indices(plan.unlearned(k)), faces.indices(plan.retain[k]), device,
                           derive_seed(seed, name, k), lambda s: splits.fresh(s), preset.train)
        t, cpu = time.perf_counter(), time.process_time()
        info = method.unlearn(task) or {}
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds, cpu_seconds = time.perf_counter() - t, time.process_time() - cpu
        losses = np.asarray(info.get("losses", []), dtype=np.float64)
        emb = embed(model, faces, device)
        if not np.isfinite(losses).all() or not torch.isfinite(emb).all():
            raise ClearBenchError(f"{name} on split model {k}: the loss or the embeddings are not finite (try a lower "
                                  "--method-arg lr=...)")
        if not part.exists():
            score, pred = face_id(emb, faces.labels, faces.enrol_mask, len(faces.names))
            with atomic_file(part) as tmp:
                np.savez(tmp, score=score, pred=pred, seconds=seconds, cpu_seconds=cpu_seconds, losses=losses)
        for attack in pending:
            t = time.perf_counter()
            attacked = attack_model(attack, model, faces, plan, k, preset.train, seed, device)
            score, pred = face_id(embed(attacked, faces, device), faces.labels, faces.enrol_mask, len(faces.names))
            with atomic_file(_attack_part(folder, k, attack)) as tmp:
                np.savez(tmp, score=score, pred=pred, seconds=time.perf_counter() - t)
    parts = [np.load(folder / f"split_{k:03d}.npz") for k in range(plan.n)]
    run = RunScores(np.stack([p["score"] for p in parts]), np.stack([p["pred"] for p in parts]), faces, plan)
    wall = sum(float(p["seconds"]) for p in parts)
    cpu = None if device.type == "cuda" else sum(float(p["cpu_seconds"]) for p in parts)
    return run, Cost(wall, cpu)


def _attack_part(folder: Path, k: int, attack: str) -> Path:
    return folder / f"split_{k:03d}-{attack}.npz"


def attacked_scores(folder: Path, attacks, faces: FaceSet, plan) -> tuple[dict[str, RunScores], dict[str, dict]]:
    """Per attack, the scores of the attacked split models in `folder` (`method_scores(..., attacks=)`), and its
    cost (seconds summed over the split models)."""
    scores, costs = {}, {}
    for attack in attacks:
        parts = [np.load(_attack_part(folder, k, attack)) for k in range(plan.n)]
        scores[attack] = RunScores(np.stack([p["score"] for p in parts]), np.stack([p["pred"] for p in parts]), faces,
                                   plan)
        costs[attack] = {"attack_s": round(sum(float(p["seconds"]) for p in parts), 2)}
    return scores, costs


def _histograms(runs: dict[str, RunScores], path: Path, title: str) -> None:
    """Figure 6 of the paper: scores of the forget images under models that trained (then unlearned) them vs
    models that never saw them (the shadow models), per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(runs), figsize=(4.2 * len(runs), 3.4), squeeze=False)
    for ax, (label, run) in zip(axes[0], runs.items()):
        rows = run.group_mask(run.plan.forget)
        roles = run.plan.roles("forget")
        unlearned = run.scores[roles["in_shadows"]][:, rows].ravel()
        unseen = run.scores[roles["out_shadows"]][:, rows].ravel()
        lo, hi = np.percentile(np.r_[unlearned, unseen], [1, 99])
        bins = np.linspace(lo, hi if hi > lo else lo + 1, 30)
        ax.hist(unlearned, bins=bins, density=True, alpha=0.5, label="forget (trained, unlearned)")
        ax.hist(unseen, bins=bins, density=True, alpha=0.5, label="holdout (never trained)")
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("score log(p/(1-p)), p = cos to enrolment")
    axes[0][0].set_ylabel("density")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    try:
        with atomic_file(path) as tmp:
            fig.savefig(tmp, dpi=110)
    finally:
        plt.close(fig)


def attacks_table(results: dict) -> str:
    """The attacks of a visual run, as `clear-bench attack` prints an LM run's."""
    def f(v):
        return "–" if v is None else f"{v:.3f}"

    lines = ["| attack | forget acc before ↓ | after ↓ | recovery | gold recovery | retain acc before ↑ | after ↑ | "
             "attack s | unlearning s |", "|---|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        held = " (held-out identities)" if r.get("scored_persons") else ""
        lines.append(f"| {name}{held} | {f(r['forget_before'])} | {f(r['forget'])} | {f(r['recovery'])} | "
                     f"{f(r['gold_row']['recovery'])} | {f(r['retain_before'])} | {f(r['retain'])} | "
                     f"{r['cost'].get('attack_s', 0):.0f} | {r.get('unlearn_s') or 0:.0f} |")
    return "Attacks (recovery = (after - before) / (Original - Gold), on the same identities):\n\n" + \
        "\n".join(lines) + "\n"


def _table(summaries: dict[str, dict]) -> str:
    keys = list(next(iter(summaries.values())))
    lines = ["| metric | dir | " + " | ".join(summaries) + " |", "|---|---|" + "---|" * len(summaries)]
    for key in keys:
        first = next(iter(summaries.values()))[key]
        cells = ["n/a" if s[key]["value"] is None else f"{s[key]['value']:.3f}" for s in summaries.values()]
        lines.append(f"| {key} | {first['direction']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


COMPLETE = ("submission.json", "results.md", "summary.json", "scores.npz")


def _complete(run_folder) -> bool:
    """The claimed folder already holds this run (same identity), finished: every output there, the record valid."""
    from ..leaderboard.records import load_record

    if not run_folder.resumed or not all((run_folder.folder / f).is_file() for f in COMPLETE):
        return False
    try:
        load_record(run_folder.folder / "submission.json")
    except ClearBenchError:
        return False
    return True


def _read_attacks(out: Path) -> dict:
    import json

    try:
        return json.loads((out / "attacks.json").read_text())
    except (OSError, ValueError):
        return {}


def run_visual_job(cfg: VisualJobConfig, progress: bool = True) -> Path:
    """Run the visual track for one method; returns the run folder."""
    from ..efficiency import efficiency, summary_entries
    from ..leaderboard.records import make_record, write_record
    from ..presets import cache_dir
    from ..tracks import get_track

    from .robustness import check_visual_attacks

    preset, method, n, pretrain = resolve(cfg)
    label = method.name or cfg.method  # the method's one name in titles and the record (a plug-in's `name`)
    attacks = tuple(check_visual_attacks(cfg.attacks)) if cfg.attacks else ()
    name = method.name or cfg.method.replace(":", ".")
    out = Path(cfg.out or get_track(TRACK).default_out(name, "image", cfg.forget, preset.name))
    source = _source(cfg.data if cfg.data is not None else preset.data)
    faces = load_faces(preset.faces, source, cfg.forget)  # fails on too few images per identity, before training
    config = {"track": TRACK, "method": cfg.method, "method_config": dataclasses.asdict(method.config),
              "preset": preset.name, "splits": n, "forget": cfg.forget, "faces": dataclasses.asdict(preset.faces),
              "backbone": dataclasses.asdict(preset.backbone), "train": dataclasses.asdict(preset.train),
              "pretrain": None if pretrain is None else dataclasses.asdict(pretrain)}
    # the same marker as every track's run (`runs.claim`): another run's folder is refused here, before any work
    run_folder = runs.claim(out, runs.CLEAR_EVAL, runs.run_identity(
        **config, seed=cfg.seed, data={"clear": source.clear, "faces": faces.fingerprint}))
    # as the LM job (`job.is_complete`): a finished run is not unlearned again, unless it lacks an attack asked for
    # (it kept no model to attack: its split models are unlearned again, with the same seeds)
    if _complete(run_folder) and set(attacks) <= set(_read_attacks(out)):
        run_folder.finish()
        log.warning("already complete: %s holds this run's record (submission.json); nothing was redone "
                    "(choose another --out, or remove the folder, to run it again)", out)
        return out
    cache = cache_dir()
    device = _device()
    if device.type == "cuda":  # uint8 images live on the GPU (0.6 GB for CLEAR at 224 px): no copy per batch
        faces.images = faces.images.to(device)
    t = time.perf_counter()
    splits = cached_split_models(faces, preset.backbone, preset.train, n, cfg.seed, device, cache, progress, pretrain)
    timings = {"split_models_s": round(time.perf_counter() - t, 2)}
    setting = stable_hash([RUNS_VERSION, splits.folder.name, cfg.seed])

    folders = {}

    def cached(mname: str) -> tuple[RunScores, Cost]:
        m = build_method(mname, {}, preset.defaults_for(mname))
        key = stable_hash([setting, dataclasses.asdict(m.config)])
        folders[mname] = cache / "visual" / "runs" / f"{mname}-{key}"
        return method_scores(m, mname, splits, faces, preset, cfg.seed, folders[mname], progress, attacks)

    original, _ = cached("original")
    gold, gold_cost = cached("gold")
    run_folder.start()
    work = run_folder.checkpoint_dir()
    t = time.perf_counter()
    if cfg.method in ("original", "gold") and not cfg.method_args:  # already computed (and cached) above
        run, unlearn_cost = (original, Cost(0.0, 0.0)) if cfg.method == "original" else (gold, gold_cost)
        folders["run"] = folders[cfg.method]
    else:
        run, unlearn_cost = method_scores(method, name, splits, faces, preset, cfg.seed, work, progress, attacks)
        folders["run"] = work
    timings["unlearn_s"] = round(time.perf_counter() - t, 2)
    eff = efficiency(unlearn_cost, gold_cost)  # against Gold's retraining of the same split models
    summaries = {"original (before)": compute(original), f"{label} (after)": compute(run),
                 "gold (retain only)": compute(gold)}
    metrics = {**summaries[f"{label} (after)"], **summary_entries(eff)}
    out.mkdir(parents=True, exist_ok=True)
    with atomic_file(out / "scores.npz") as tmp:
        np.savez(tmp, score=run.scores, pred=run.preds, labels=faces.labels.numpy(), enrol=faces.enrol_mask.numpy())
    atomic_write_json(out / "summary.json", {"run": str(out), "track": TRACK, "config": config, "seed": cfg.seed,
                                            "metrics": metrics, "efficiency": {**timings, **eff},
                                            "attack_assignments": len(splits.plan.assignments(ASSIGNMENTS)),
                                            "library_versions": library_versions(),
                                            "identities": faces.names, "plan": dataclasses.asdict(splits.plan)})
    title = (f"{label} · model {preset.backbone.name} · visual · forget {cfg.forget}% · {n} split models · "
             f"{preset.name} preset · seed {cfg.seed} (n = 1)")
    atomic_write_text(out / "results.md", f"# {title}\n\nAccuracies are fractions (the paper prints percent); "
                      "U-LIRA / U-MIA are attack accuracies, 0.5 ideal.\n\n" + _table(summaries) + "\n")
    from ..leaderboard.table import collapse_note
    from ..tracks import get_track

    collapse = collapse_note(get_track(TRACK).board, {"metrics": summaries[f"{label} (after)"]},
                             {"metrics": summaries["original (before)"]})
    _histograms({"Original": original, label: run, "Gold": gold}, out / "results.png", title + collapse)
    record = make_record(method=label, modality="image", forget=cfg.forget, seed=cfg.seed, config=config,
                         data={"clear": source.clear, "faces": faces.fingerprint},
                         model={"base": preset.backbone.name, "splits": splits.folder.name},
                         versions=library_versions(), metrics=metrics, efficiency={**timings, **eff}, track=TRACK,
                         hardware=hardware())
    if attacks:
        from .robustness import add_to_record, attack_results

        scored = {which: attacked_scores(folders[which], attacks, faces, splits.plan)
                  for which in ("run", "original", "gold")}
        results = attack_results(attacks, run, scored["run"][0], original, scored["original"][0], gold,
                                 scored["gold"][0], cfg.seed, preset.train, scored["run"][1])
        for r in results.values():
            r["unlearn_s"] = timings["unlearn_s"]
        results = {**_read_attacks(out), **results}  # an earlier run's other attacks stay (the same seeds)
        atomic_write_json(out / "attacks.json", results)
        record = add_to_record(record, results)
        atomic_write_text(out / "results.md", (out / "results.md").read_text() + "\n" + attacks_table(results))
    write_record(out / "submission.json", record)
    run_folder.finish()  # removes `work`: its per-split results are in scores.npz now
    return out
