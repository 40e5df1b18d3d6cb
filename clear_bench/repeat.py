"""`clear-eval --seeds K`: the same run with K seeds, and the spread of every metric over them.

One machine's figures for one seed are not the benchmark's numbers: the seed moves the pairing, the
shuffling and the LoRA initialisation, and CPU float sums move with the thread count. The group folder holds
`seed-<s>/` (a complete `clear-eval` run folder each, resumable on its own) and `seeds.md` / `seeds.json`
with mean ± sample standard deviation per metric.
"""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any, Sequence

from . import runs
from .utils import atomic_write_json, atomic_write_text, hardware

SEED_GROUP = "clear-eval seed group"


def spread(summaries: Sequence[dict]) -> dict[str, dict[str, Any]]:
    """{metric: {"mean", "sd", "ci95", "n", "direction"}} over the runs' summaries (values that are None are left
    out; sd is the sample standard deviation and ci95 the half-width of the 95 % Student-t interval of the mean,
    None for fewer than two values)."""
    from scipy.stats import t
    out: dict[str, dict[str, Any]] = {}
    keys = dict.fromkeys(k for s in summaries for k in s["metrics"])
    for key in keys:
        entries = [s["metrics"].get(key) or {} for s in summaries]
        values = [e["value"] for e in entries if e.get("value") is not None]
        if not values:
            continue
        mean = sum(values) / len(values)
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else None
        ci = None if sd is None else float(t.ppf(0.975, len(values) - 1)) * sd / math.sqrt(len(values))
        out[key] = {"mean": mean, "sd": sd, "ci95": ci, "n": len(values),
                    "direction": next((e.get("direction") for e in entries if e.get("direction")), "")}
    return out


def spread_markdown(table: dict[str, dict[str, Any]], seeds: Sequence[int]) -> str:
    lines = [f"Mean ± sample sd over seeds {', '.join(map(str, seeds))}, and the 95 % Student-t interval of the mean "
             "(n = values that were computed).", "",
             "| metric | dir | mean ± sd | 95 % interval | n |", "|---|---|---|---|---|"]
    for key, e in table.items():
        sd = "–" if e["sd"] is None else f"{e['sd']:.4f}"
        ci = e.get("ci95")
        interval = "–" if ci is None else f"[{e['mean'] - ci:.4f}, {e['mean'] + ci:.4f}]"
        lines.append(f"| {key} | {e['direction']} | {e['mean']:.4f} ± {sd} | {interval} | {e['n']} |")
    return "\n".join(lines) + "\n"


VARY = ("unlearn", "train", "both")


def seed_config(cfg, s: int, vary: str):
    """`cfg` for seed `s`: `unlearn` varies the unlearning seed (pairing, shuffling, LoRA initialisation), `train`
    the fine-tuning seed of target and gold (`JobConfig.train_seed`; the unlearning seed stays cfg.seed), `both`
    the two."""
    if vary not in VARY:
        from .errors import ClearBenchError

        raise ClearBenchError(f"--vary must be one of {', '.join(VARY)} (got {vary!r})")
    return dataclasses.replace(cfg, **({"seed": s} if vary in ("unlearn", "both") else {}),
                               **({"train_seed": s} if vary in ("train", "both") else {}))


def run_seeds(cfg, k: int, run_job=None, track=None, vary: str = "unlearn") -> Path:
    """Run `cfg` (a track's job config: `job.JobConfig`, `visual.VisualJobConfig`) with seeds cfg.seed ..
    cfg.seed + k - 1 into one group folder; returns it. `run_job`: the track's job function (default: the LM
    recipe's `job.run_job`); `track`: the `tracks.Track` (default: the multimodal one), whose `summary` file each
    seed's run folder holds; `vary`: which seed the seeds are (`seed_config`)."""
    from .tracks import get_track

    if run_job is None:
        from .job import run_job
    track = track or get_track(getattr(cfg, "track", "multimodal"))
    seeds = [cfg.seed + i for i in range(k)]
    modality = getattr(cfg, "modality", None) or track.modalities[0]
    model = getattr(cfg, "model", None) or getattr(track.get_presets().get(cfg.preset), "model", None)
    name = getattr(track.get_method(cfg.method), "name", "") or cfg.method  # a plug-in's `name`, as the job's
    base = Path(cfg.out or track.default_out(name, modality, cfg.forget, cfg.preset, model) + "-seeds")
    identity = {k_: v for k_, v in dataclasses.asdict(cfg).items() if k_ not in ("seed", "out", "allow_unmemorised")}
    group = runs.claim(base, SEED_GROUP, {**identity, "seeds": seeds, **({"vary": vary} if vary != "unlearn" else {})})
    group.start()
    folders = [run_job(dataclasses.replace(seed_config(cfg, s, vary), out=str(base / f"seed-{s}"))) for s in seeds]
    summaries = [json.loads((f / track.summary).read_text()) for f in folders]
    table = spread(summaries)
    atomic_write_json(base / "seeds.json", {"seeds": seeds, "vary": vary, "runs": [str(f) for f in folders],
                                            "spread": table, "hardware": hardware()})
    what = {"unlearn": "unlearning seeds", "train": "training seeds (target and gold re-fine-tuned per seed)",
            "both": "training and unlearning seeds"}[vary]
    atomic_write_text(base / "seeds.md", f"# {name} · {track.name} · {modality} · forget {cfg.forget}% · "
                                         f"{len(seeds)} {what}\n\n" + spread_markdown(table, seeds))
    group.finish()
    return base
