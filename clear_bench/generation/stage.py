"""Cached, resumable stage execution.

A stage's work lives in `<work>/<stage>/`: its record files (`<name>.jsonl`), per-item files
(`items/`), `manifest.json` and `_SUCCESS`. A stage is skipped when `_SUCCESS` exists and its
fingerprint (stage version, parameters, seed, upstream fingerprints) is unchanged; otherwise it
reruns, and per-item work already done under the same fingerprint is kept (resume after a crash).
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..utils import atomic_write_json, file_sha256, library_versions, stable_hash
from .records import read_jsonl, write_jsonl

log = logging.getLogger(__name__)


@dataclass
class StageResult:
    """A finished stage: its outputs (name -> records), fingerprint and whether it came from cache."""

    name: str
    fingerprint: str
    outputs: dict[str, list]
    cached: bool
    manifest: dict

    def __getitem__(self, key: str) -> list:
        return self.outputs[key]


@dataclass
class StageContext:
    """What a stage function gets: its folders, seed and fingerprint, and an item cache."""

    name: str
    work_dir: Path
    stage_dir: Path
    seed: int
    fingerprint: str
    progress: bool = True
    info: dict[str, Any] = field(default_factory=dict)  # backend details for the manifest
    made: int = 0
    resumed: int = 0

    @property
    def items_dir(self) -> Path:
        return self.stage_dir / "items"

    def rel(self, path: Path) -> str:
        """A path relative to the work folder (what records store)."""
        return Path(path).relative_to(self.work_dir).as_posix()

    def abs(self, rel: str) -> Path:
        return self.work_dir / rel

    def item(self, key: str, make: Callable[[Path], dict]) -> dict:
        """Return item `key`'s JSON record, making it with `make(prefix)` unless a previous run did.

        `make` writes any files under `prefix` (e.g. `prefix.with_suffix('.png')`) and returns a
        JSON-able dict; the record file is written last, so an item counts as done only when whole.
        """
        path = self.items_dir / f"{key}.json"
        if path.exists():
            data = json.loads(path.read_text())
            if data.get("_fingerprint") == self.fingerprint:
                self.resumed += 1
                return data["record"]
        self.items_dir.mkdir(parents=True, exist_ok=True)
        record = make(self.items_dir / key)
        atomic_write_json(path, {"_fingerprint": self.fingerprint, "record": record})
        self.made += 1
        return record

    def bar(self, iterable, total: int | None = None, desc: str | None = None):
        """A progress bar (progress.py) over `iterable` (silent when progress is off)."""
        from ..progress import progress_bar

        return progress_bar(iterable, total=total, desc=desc or self.name, disable=not self.progress, leave=False)


class Runner:
    """Runs stages in a work folder with caching; `force` names stages to recompute."""

    def __init__(self, work_dir: str | os.PathLike, seed: int, progress: bool = True,
                 force: frozenset[str] = frozenset()):
        self.work_dir = Path(work_dir)
        self.seed = seed
        self.progress = progress
        self.force = force
        self.results: list[StageResult] = []

    def run(self, name: str, version: int, params: dict, upstream: list[StageResult],
            outputs: dict[str, type], fn: Callable[[StageContext], dict[str, list]]) -> StageResult:
        """Run stage `name` (or load it from cache). `fn(ctx)` returns {output name: records}."""
        # Upstream outputs by content, not only by inputs: a forced upstream stage that produced something else
        # (edited source files, a code fix) makes this stage stale; one that produced the same keeps it cached.
        fp = stable_hash({"stage": name, "version": version, "params": params, "seed": self.seed,
                          "upstream": [(u.fingerprint, u.manifest.get("sha256")) for u in upstream]})
        stage_dir = self.work_dir / name
        manifest_path, done = stage_dir / "manifest.json", stage_dir / "_SUCCESS"
        if done.exists() and name not in self.force:
            manifest = json.loads(manifest_path.read_text())
            if manifest.get("fingerprint") == fp:
                loaded = {k: read_jsonl(stage_dir / f"{k}.jsonl", cls) for k, cls in outputs.items()}
                log.info("stage %s: cached (%s)", name, fp)
                return self._keep(StageResult(name, fp, loaded, True, manifest))
        if done.exists():
            done.unlink()
        if name in self.force and (stage_dir / "items").exists():
            shutil.rmtree(stage_dir / "items")
        stage_dir.mkdir(parents=True, exist_ok=True)
        ctx = StageContext(name, self.work_dir, stage_dir, self.seed, fp, self.progress)
        started = time.time()
        produced = fn(ctx)
        if set(produced) != set(outputs):
            raise RuntimeError(f"stage {name} returned outputs {sorted(produced)}, declared {sorted(outputs)}")
        files = {k: write_jsonl(stage_dir / f"{k}.jsonl", v) for k, v in produced.items()}
        self._drop_stale_items(ctx)
        manifest = {
            "stage": name, "version": version, "fingerprint": fp, "seed": self.seed, "params": params,
            "upstream": {u.name: u.fingerprint for u in upstream},
            "counts": {k: len(v) for k, v in produced.items()},
            "items": {"made": ctx.made, "resumed": ctx.resumed}, "backend": ctx.info,
            "libraries": library_versions(), "seconds": round(time.time() - started, 3),
            "sha256": {p.name: file_sha256(p) for p in files.values()},
        }
        atomic_write_json(manifest_path, manifest)
        done.touch()
        log.info("stage %s: %s made, %s resumed", name, ctx.made, ctx.resumed)
        return self._keep(StageResult(name, fp, produced, False, manifest))

    def _keep(self, result: StageResult) -> StageResult:
        self.results.append(result)
        return result

    @staticmethod
    def _drop_stale_items(ctx: StageContext) -> None:
        """Delete item files left by runs with another fingerprint (they would never be reused)."""
        if not ctx.items_dir.exists():
            return
        for path in ctx.items_dir.glob("*.json"):
            if json.loads(path.read_text()).get("_fingerprint") != ctx.fingerprint:
                for other in ctx.items_dir.glob(f"{path.stem}.*"):
                    other.unlink()
