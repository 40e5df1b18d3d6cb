"""The unlearned model a run scored, kept in its run folder (`OUT/model/`), and the one loader of it.

What is kept (issue 27.5):
  - a method that trains LoRA adapters: the adapters, unmerged (`adapter_config.json` + `adapter_model.safetensors`,
    peft's own format), applied to the run's target model on load: megabytes, not the model;
  - a method that trains every weight (`--lora-r 0`) or retrains (SISA): the full weights and the processor.
Beside them `clear_model.json`, the manifest: method, track, model family, format, the base model, the target (and
gold) model's path and fingerprint, the facts a later command needs to re-score the run (data, evaluation settings,
tasks), and the SHA-256 of every file. `load_run_model` refuses, in one line, a file whose checksum differs, a
weights file the manifest does not list, and a target model that is not the one the adapters were trained on.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from ..errors import ClearBenchError
from ..utils import TOOL, atomic_dir, atomic_write_json, file_sha256, stable_hash

log = logging.getLogger(__name__)

MODEL_DIR = "model"
MODEL_MANIFEST = "clear_model.json"
KIND = "unlearned model"
SCHEMA = 1
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


def model_fingerprint(folder: str | os.PathLike) -> str:
    """A fine-tuned model's identity: its inputs' fingerprint and, where recorded, the checksum of its weights
    (the `clear_manifest.json` that `training.finetune` writes; a folder without one: its path)."""
    from .finetune import MANIFEST

    try:
        m = json.loads((Path(folder) / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError):
        m = {}
    if not m.get("fingerprint"):
        return stable_hash(str(folder))
    return f"{m['fingerprint']}-{m['weights_sha256'][:16]}" if m.get("weights_sha256") else m["fingerprint"]


def save_run_model(folder: str | os.PathLike, model, processor, adapters: dict | None, *, method: str, track: str,
                   family: str, base_model: str, target_dir: str | os.PathLike,
                   gold_dir: str | os.PathLike | None = None, trust_remote_code: bool = False,
                   run: dict | None = None) -> Path:
    """Write the unlearned model into `folder` (replaced whole): `adapters` (`UnlearnResult.adapters`) when the
    method trained LoRA adapters, else `model`'s full weights and `processor`; then the manifest. `run`: facts
    of the run a later command reads back (data, evaluation settings, tasks)."""
    from safetensors.torch import save_file

    folder = Path(folder)
    with atomic_dir(folder, marker=MODEL_MANIFEST) as tmp:
        if adapters is not None:
            config = adapters["config"]
            config.base_model_name_or_path = str(Path(target_dir).resolve())
            config.save_pretrained(str(tmp))
            save_file(dict(adapters["state"]), str(tmp / "adapter_model.safetensors"))
            fmt = "lora"
        else:
            model.save_pretrained(str(tmp), safe_serialization=True)
            processor.save_pretrained(str(tmp))
            fmt = "full"
        files = {p.name: file_sha256(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        manifest = {"tool": TOOL, "kind": KIND, "schema": SCHEMA, "format": fmt, "method": method, "track": track,
                    "family": family, "base_model": base_model, "trust_remote_code": trust_remote_code,
                    "target": {"path": str(Path(target_dir).resolve()), "fingerprint": model_fingerprint(target_dir)},
                    "gold": ({"path": str(Path(gold_dir).resolve()), "fingerprint": model_fingerprint(gold_dir)}
                             if gold_dir is not None else None),
                    "run": run or {}, "files": files}
        atomic_write_json(tmp / MODEL_MANIFEST, manifest)
    log.info("saved the unlearned model (%s, %d files) in %s", fmt, len(files), folder)
    return folder


def model_folder(run_dir: str | os.PathLike) -> Path:
    """`RUN/model` of a run folder (or the model folder itself, if given)."""
    run_dir = Path(run_dir)
    return run_dir if (run_dir / MODEL_MANIFEST).is_file() else run_dir / MODEL_DIR


def read_run_model_manifest(run_dir: str | os.PathLike) -> dict:
    """The manifest of a run's saved model; one line when the run kept none or the manifest is not ours."""
    path = model_folder(run_dir) / MODEL_MANIFEST
    if not Path(run_dir).is_dir():
        raise ClearBenchError(f"run folder {run_dir} does not exist")
    if not path.is_file():
        raise ClearBenchError(f"{run_dir} holds no saved model ({MODEL_DIR}/{MODEL_MANIFEST}): it is not a finished "
                              "clear-eval run, or an older clear-bench made it; run clear-eval again with the same "
                              "settings to keep the model")
    try:
        m = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ClearBenchError(f"{path}: not a readable manifest ({e})") from None
    if not (isinstance(m, dict) and m.get("tool") == TOOL and m.get("kind") == KIND and m.get("schema") == SCHEMA
            and isinstance(m.get("files"), dict) and m.get("format") in ("lora", "full")):
        raise ClearBenchError(f"{path} is not a clear-bench {KIND} manifest (schema {SCHEMA})")
    return m


def verify_run_model(run_dir: str | os.PathLike) -> dict:
    """Check every file of a run's saved model against its manifest; returns the manifest. One line for a file
    that is missing or changed, or a weights file that the manifest does not list."""
    m = read_run_model_manifest(run_dir)
    folder = model_folder(run_dir)
    for name, digest in m["files"].items():
        path = folder / name
        if not path.is_file():
            raise ClearBenchError(f"{path} is missing: the saved model of {run_dir} is incomplete")
        actual = file_sha256(path)
        if actual != digest:
            raise ClearBenchError(f"{path} was changed after the run saved it (sha256 {actual[:12]}…, manifest "
                                  f"{digest[:12]}…): refusing to load it; rerun clear-eval to save it again")
    extra = sorted(p.name for p in folder.iterdir() if p.suffix in WEIGHT_SUFFIXES and p.name not in m["files"])
    if extra:
        raise ClearBenchError(f"{folder} holds weights its manifest does not list ({', '.join(extra)}): refusing "
                              "to load them")
    return m


def load_run_model(run_dir: str | os.PathLike, device: str | None = None,
                   model_dir: str | os.PathLike | None = None) -> tuple[Any, Any, dict]:
    """(model, processor, manifest) of a run's saved unlearned model, every file verified first (`verify_run_model`).
    LoRA adapters are applied to the run's target model (or `model_dir`, a copy of it) and merged, as the run
    scored them; the target's fingerprint must be the one recorded."""
    from .families import FAMILIES

    m = verify_run_model(run_dir)
    folder = model_folder(run_dir)
    family = FAMILIES.get(m["family"])
    trust = bool(m.get("trust_remote_code"))
    if m["format"] == "full":
        model, processor = family.load(str(folder), device=device, trust_remote_code=trust)
        return model, processor, m
    target = Path(model_dir or m["target"]["path"])
    if not (target / "config.json").is_file():
        raise ClearBenchError(f"the target model the adapters of {run_dir} apply to is not at {target} (the cache "
                              "was cleared or moved?): run clear-eval with the same settings to fine-tune it again")
    found = model_fingerprint(target)
    if found != m["target"]["fingerprint"]:
        raise ClearBenchError(f"the target model at {target} is not the one the adapters of {run_dir} were trained "
                              f"on (fingerprint {found}, manifest {m['target']['fingerprint']})")
    model, processor = family.load(str(target), device=device, trust_remote_code=trust)
    return apply_adapters(model, folder), processor, m


def apply_adapters(model, folder: str | os.PathLike):
    """`model` with the peft adapters saved in `folder` applied and merged (peft's `PeftModel.from_pretrained`)."""
    import warnings

    from peft import PeftModel

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        return PeftModel.from_pretrained(model, str(folder)).merge_and_unload()
