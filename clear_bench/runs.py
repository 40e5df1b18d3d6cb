"""Run folders: one folder holds one run, and a folder is ours because of the marker we write into it.

A command that writes into `--out` first claims the folder (`claim`), before any work:
  - a missing or empty folder is claimed; the marker is written when the run starts writing (`RunFolder.start`);
  - a folder holding our marker of the same kind and the same identity is resumed;
  - a folder holding our marker with another identity is refused, in one line naming the settings that differ;
  - a folder holding anything else (no marker, or a marker that is not ours) is refused: its files are the
    user's, and are never overwritten or deleted.

The marker, `.clear-run.json`:
  {"tool": "clear-bench", "schema": 1, "kind": "clear-eval run", "identity": {...}, "identity_hash": "..."}
A run's identity is every setting that changes its numbers (for `clear-eval`: method and hyper-parameters,
modality, forget size, seed, the fine-tuning and unlearning recipes, cap, generation length, data and model
fingerprints, preset, track). Timing, paths of caches and the like are not part of it.

A run that fails before writing anything but the marker leaves no folder behind (`discard_unfinished`, called
by the CLI's error boundary).

Two processes cannot hold one folder: `claim` takes an exclusive `flock` on the folder's lock file before it reads
the folder, and keeps it until the run finishes or the process ends (the kernel drops it even when the process is
killed); a second claim of a held folder is refused in one line. The lock file lives in the cache
(`$CLEAR_BENCH_CACHE/locks/<hash of the folder's absolute path>.lock`), so claiming writes nothing into `--out`.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Mapping

from .errors import ClearBenchError
from .utils import atomic_write_json, check_writable, stable_hash

log = logging.getLogger(__name__)

TOOL = "clear-bench"
SCHEMA = 1
MARKER = ".clear-run.json"
CLEAR_EVAL, EVALUATION, LEADERBOARD, TRANSFER = "clear-eval run", "evaluation", "leaderboard", "transfer"
CHECKPOINT_PREFIX = ".checkpoint-"

_STARTED: set[Path] = set()  # folders this process created and has not finished: see `discard_unfinished`
# what a run writes before its first result (evaluate's run.json describes the run; no task log yet): a folder
# holding nothing else has nothing to resume
PRELUDE = frozenset({MARKER, "run.json"})
_LOCKS: dict[Path, int] = {}  # folder -> open descriptor of its lock file, held by this process


def identity_hash(identity: Mapping[str, Any]) -> str:
    return stable_hash(dict(identity), n=32)


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, Mapping):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: d}


def differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The settings (dotted keys) whose values differ, as 'key: old -> new'."""
    a, b = _flatten(json.loads(json.dumps(old, default=str))), _flatten(json.loads(json.dumps(new, default=str)))
    return [f"{k}: {json.dumps(a.get(k))} -> {json.dumps(b.get(k))}" for k in sorted(set(a) | set(b))
            if a.get(k) != b.get(k)]


def read_marker(folder: str | os.PathLike) -> dict | None:
    """The folder's marker, None without one; a marker that is not ours (bad JSON, another tool or schema)
    is an error: the folder is then not ours either."""
    path = Path(folder) / MARKER
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = None
    ours = isinstance(data, dict) and data.get("tool") == TOOL and data.get("schema") == SCHEMA
    if not (ours and isinstance(data.get("identity"), dict)
            and data.get("identity_hash") == identity_hash(data["identity"])):
        raise ClearBenchError(f"{path} is not a clear-bench run marker (tool {TOOL}, schema {SCHEMA}), or it was "
                              f"edited: {folder} is not a run folder of ours; choose a fresh --out")
    return data


class RunFolder:
    """A claimed output folder (see the module docstring). `resumed` is True when it already held this run."""

    def __init__(self, folder: Path, kind: str, identity: Mapping[str, Any], resumed: bool):
        self.folder, self.kind, self.identity, self.resumed = folder, kind, dict(identity), resumed
        self.hash = identity_hash(identity)

    def checkpoint_dir(self) -> Path:
        """Where a resumable unit of this run keeps its state: named by the identity, never another run's."""
        return self.folder / f"{CHECKPOINT_PREFIX}{self.hash[:16]}"

    def start(self) -> "RunFolder":
        """Create the folder (if needed) and write the marker; call right before the run's first write."""
        if not self.folder.exists():
            _STARTED.add(self.folder.resolve())
        self.folder.mkdir(parents=True, exist_ok=True)
        old = read_marker(self.folder)
        if old is None or old["identity_hash"] != self.hash:
            atomic_write_json(self.folder / MARKER, {"tool": TOOL, "schema": SCHEMA, "kind": self.kind,
                                                     "identity": self.identity, "identity_hash": self.hash})
        return self

    def finish(self) -> None:
        """The run is complete: remove every resume checkpoint left in the folder (this run's and stale ones),
        and let another process have the folder."""
        for stale in self.folder.glob(f"{CHECKPOINT_PREFIX}*"):
            shutil.rmtree(stale, ignore_errors=True)
        _STARTED.discard(self.folder.resolve())
        release(self.folder)


def lock_path(folder: str | os.PathLike) -> Path:
    """The lock file of a run folder (module docstring)."""
    from .data.demo import cache_dir

    return cache_dir() / "locks" / f"{stable_hash(str(Path(folder).resolve()))}.lock"


def _lock(folder: Path, flag: str) -> None:
    """Hold `folder`'s lock; one line if another process holds it."""
    import fcntl

    key = folder.resolve()
    release(key)  # this process claiming the folder again (a run retried in-process) takes a fresh lock
    path = lock_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ClearBenchError(f"{flag} {folder} is in use by another clear-bench process (it holds {path}): wait "
                              f"for it to finish, or choose another {flag}") from None
    _LOCKS[key] = fd


def release(folder: str | os.PathLike) -> None:
    """Let go of a folder this process claimed (nothing if it holds none)."""
    fd = _LOCKS.pop(Path(folder).resolve(), None)
    if fd is not None:
        os.close(fd)


def _contents(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def claim(folder: str | os.PathLike, kind: str, identity: Mapping[str, Any],
          adopt: Callable[[Path], bool] | None = None, flag: str = "--out") -> RunFolder:
    """Check, before any work, that `folder` may take this run (module docstring); raise one line if not.

    `adopt(folder)` may accept a folder without a marker that an older clear-bench wrote (recognised by the
    content of its files, never by their names alone); it then gets the marker on `start`.
    """
    folder = check_writable(folder)
    if folder.exists() and not folder.is_dir():
        raise ClearBenchError(f"{flag} {folder} is a file, not a folder")
    _lock(folder, flag)
    try:
        return _claim_locked(folder, kind, identity, adopt, flag)
    except BaseException:
        release(folder)
        raise


def _claim_locked(folder: Path, kind: str, identity: Mapping[str, Any], adopt, flag: str) -> RunFolder:
    if not _contents(folder):
        return RunFolder(folder, kind, identity, resumed=False)
    marker = read_marker(folder)
    if marker is None:
        if adopt is not None and adopt(folder):
            return RunFolder(folder, kind, identity, resumed=True)
        raise ClearBenchError(f"{flag} {folder} already holds files that clear-bench did not write (no {MARKER}); "
                              f"they are left alone: choose a fresh {flag}")
    if marker.get("kind") != kind:
        raise ClearBenchError(f"{flag} {folder} holds a clear-bench {marker.get('kind')}, not a {kind}: "
                              f"choose a fresh {flag}")
    if marker["identity_hash"] != identity_hash(identity):
        if _contents(folder) == {MARKER}:  # a run that stopped before writing anything: no mix
            return RunFolder(folder, kind, identity, resumed=False)
        diff = differences(marker["identity"], identity)
        shown = "; ".join(diff[:4]) + (f"; and {len(diff) - 4} more" if len(diff) > 4 else "")
        raise ClearBenchError(f"{flag} {folder} holds another run ({shown}): choose a fresh {flag} (or run with "
                              "the same settings to resume)")
    return RunFolder(folder, kind, identity, resumed=True)


def discard_unfinished() -> list[Path]:
    """Remove folders this process created for a run that failed before writing anything but its prelude
    (`PRELUDE`; temporary siblings of atomic writes are removed by those writes). Returns the folders removed."""
    removed = []
    for folder in sorted(_STARTED):
        if folder.is_dir() and {p.name for p in folder.iterdir()} <= PRELUDE:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    _STARTED.clear()
    for folder in list(_LOCKS):
        release(folder)
    return removed


def run_identity(track: str, **settings) -> dict:
    """A `clear-eval` run's identity on any track: its track and every setting that changes its numbers."""
    return {"track": track, **settings}


def clear_eval_identity(*, method: str, method_config: Mapping, modality: str, forget: int, seed: int,
                        preset: str, unlearn: Mapping, finetune: list[Mapping], cap: int | None,
                        max_new_tokens: int, data: Mapping, track: str = "multimodal",
                        score_eos: bool = False) -> dict:
    """Everything that makes a `clear-eval` run's numbers (module docstring); `score_eos` only when set, so that
    the identities of runs scored without it stay what they were."""
    return {"method": method, "method_config": dict(method_config), "modality": modality, "forget": forget,
            "seed": seed, "preset": preset, "track": track, "unlearn": dict(unlearn),
            "finetune": [dict(f) for f in finetune], "cap": cap, "max_new_tokens": max_new_tokens,
            "data": dict(data), **({"score_eos": True} if score_eos else {})}
