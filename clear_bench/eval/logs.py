"""Per-item evaluation records: what the scorer measures, from which every metric is recomputed.

On disk a run is a folder with one ``<task>.jsonl`` per task (one record per line, written
atomically, so a file that exists is complete: `task_done` is the resume check) and an optional
``run.json`` describing the run (model, forget size, seed, ...).

One `ItemRecord` per evaluated item. The scorer (model side) fills it; the metrics and reports
(this package) only ever read records, so any aggregate can be recomputed later without a model.

Conventions for the scorer:
- NLLs are natural-log negative log-likelihoods SUMMED over the scored tokens of one answer
  variant, conditioned on the image (if any) and the prompt. The scored tokens are the answer's
  own tokens, WITHOUT the end-of-turn token the chat template appends (training supervises that
  token too; scoring does not, so that a variant's probability is that of its text alone);
  `*_tokens` is their count. Every variant of an item uses the same prompt.
- `paraphrase_*` may be None when the task's paraphrase is the answer itself (face->name, real
  faces, real world): metrics then use the answer's numbers, as the reference does.
- `perturbed_*` are the wrong answers of the task's perturbed column (perturbed captions,
  perturbed names, perturbed TOFU answers, or the distractor options with the answer removed), in
  column order: the scorer's "perturbed" and "option" variants both land here.
- `token_logprobs[t]` = log p(answer token t); `token_mu[t]` and `token_sigma[t]` are the mean and
  standard deviation of log p(v) under v ~ p(. | prefix) at that position (Min-K%++). All three
  cover the same scored tokens as `answer_nll` (so -sum(token_logprobs) == answer_nll).
- `generation` is the greedy continuation given image + prompt; `rouge_l` its ROUGE-L recall
  against `answer` (see metrics.rouge), or None if not computed yet.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable

from ..errors import ClearBenchError
from ..utils import atomic_write_json, atomic_write_text


@dataclass
class ItemRecord:
    """One evaluated item (see the module docstring for how each field is measured)."""

    item_id: str
    task: str
    answer: str
    answer_nll: float
    answer_tokens: int
    person: str | None = None
    paraphrase_nll: float | None = None
    paraphrase_tokens: int | None = None
    perturbed_nll: list[float] = field(default_factory=list)
    perturbed_tokens: list[int] = field(default_factory=list)
    token_logprobs: list[float] | None = None
    token_mu: list[float] | None = None
    token_sigma: list[float] | None = None
    generation: str | None = None
    rouge_l: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # free-form scorer notes (prompt, timings, ...)

    def __post_init__(self) -> None:
        self.validate()

    def _fail(self, what: str) -> ClearBenchError:
        return ClearBenchError(f"per-item record {self.item_id!r} of task {self.task!r}: {what}")

    def validate(self) -> None:
        """Check the record is internally consistent; raise a one-line ClearBenchError if not."""
        if self.answer_tokens <= 0:
            raise self._fail(f"answer_tokens must be > 0 (got {self.answer_tokens})")
        if (self.paraphrase_nll is None) != (self.paraphrase_tokens is None):
            raise self._fail("paraphrase_nll and paraphrase_tokens must both be set or both be None")
        if self.paraphrase_tokens is not None and self.paraphrase_tokens <= 0:
            raise self._fail(f"paraphrase_tokens must be > 0 (got {self.paraphrase_tokens})")
        if len(self.perturbed_nll) != len(self.perturbed_tokens):
            raise self._fail(f"{len(self.perturbed_nll)} perturbed_nll values but "
                             f"{len(self.perturbed_tokens)} perturbed_tokens counts")
        if any(n <= 0 for n in self.perturbed_tokens):
            raise self._fail("every perturbed_tokens count must be > 0")
        for name in ("token_logprobs", "token_mu", "token_sigma"):
            values = getattr(self, name)
            if values is not None and len(values) != self.answer_tokens:
                raise self._fail(f"{name} has {len(values)} values, expected answer_tokens={self.answer_tokens}")
        if self.rouge_l is not None and not 0.0 <= self.rouge_l <= 1.0:
            raise self._fail(f"rouge_l must be in [0, 1] (got {self.rouge_l})")

    # Per-token means: the quantities every metric is built on.
    @property
    def answer_mean_nll(self) -> float:
        return self.answer_nll / self.answer_tokens

    @property
    def paraphrase_mean_nll(self) -> float:
        """Per-token NLL of the paraphrase; the answer's when the task has no separate paraphrase."""
        if self.paraphrase_nll is None:
            return self.answer_mean_nll
        return self.paraphrase_nll / self.paraphrase_tokens

    @property
    def perturbed_mean_nll(self) -> list[float]:
        return [nll / n for nll, n in zip(self.perturbed_nll, self.perturbed_tokens)]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (an infinite NLL stays a float: Python's json writes and reads `Infinity`)."""
        return asdict(self)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> "ItemRecord":
        """Inverse of `to_json`; unknown keys are kept in `extra` (newer scorers may add fields)."""
        known = {f.name for f in fields(cls)}
        missing = [k for k in ("item_id", "task", "answer", "answer_nll", "answer_tokens") if k not in obj]
        if missing:
            raise ClearBenchError(f"per-item record {obj.get('item_id', '?')!r} lacks field(s) {', '.join(missing)}")
        kwargs = {k: v for k, v in obj.items() if k in known}
        extra = dict(kwargs.pop("extra", None) or {})
        extra.update({k: v for k, v in obj.items() if k not in known})
        return cls(**kwargs, extra=extra)


# ---------------------------------------------------------------------------------------------
# On disk: one JSONL file per task in a run folder, written atomically, plus run.json.

RUN_INFO = "run.json"
SUFFIX = ".jsonl"


def task_path(run_dir: str | os.PathLike, task: str) -> Path:
    return Path(run_dir) / f"{task}{SUFFIX}"


def write_task(run_dir: str | os.PathLike, task: str, records: Iterable[ItemRecord]) -> Path:
    """Write a task's records as JSONL via a temporary file + rename: the file exists only when complete."""
    lines = []
    for r in records:
        if r.task != task:
            raise ClearBenchError(f"record {r.item_id!r} belongs to task {r.task!r}, not {task!r}")
        lines.append(json.dumps(r.to_json(), ensure_ascii=False, sort_keys=True))
    if not lines:
        raise ClearBenchError(f"no records to write for task {task!r}")
    return atomic_write_text(task_path(run_dir, task), "\n".join(lines) + "\n")


def task_done(run_dir: str | os.PathLike, task: str) -> bool:
    """True if the task's log is complete (it is only ever renamed into place whole): resume skips it."""
    return task_path(run_dir, task).is_file()


def read_task(run_dir: str | os.PathLike, task: str) -> list[ItemRecord]:
    """The records of one task; one-line errors name the file and line of a bad record."""
    path = task_path(run_dir, task)
    if not path.is_file():
        raise ClearBenchError(f"no per-item log for task '{task}' in {run_dir} (expected {path.name})")
    records = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = ItemRecord.from_json(json.loads(line))
            except (json.JSONDecodeError, TypeError) as e:
                raise ClearBenchError(f"{path}:{lineno}: not a per-item record ({e})") from None
            except ClearBenchError as e:
                raise ClearBenchError(f"{path}:{lineno}: {e}") from None
            if record.task != task:
                raise ClearBenchError(f"{path}:{lineno}: record of task {record.task!r} in the log of {task!r}")
            records.append(record)
    return records


def list_tasks(run_dir: str | os.PathLike) -> list[str]:
    """Names of the tasks with a complete log in `run_dir`, sorted."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ClearBenchError(f"run folder {run_dir} does not exist")
    return sorted(p.name[: -len(SUFFIX)] for p in run_dir.glob(f"*{SUFFIX}") if not p.name.startswith("."))


def write_run_info(run_dir: str | os.PathLike, info: dict[str, Any]) -> Path:
    """run.json: how the run was made (model, forget size, seed, caps, library versions, ...)."""
    return atomic_write_json(Path(run_dir) / RUN_INFO, info)


def read_run_info(run_dir: str | os.PathLike) -> dict[str, Any]:
    """run.json's content, or {} if the scorer wrote none."""
    path = Path(run_dir) / RUN_INFO
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ClearBenchError(f"{path} is not valid JSON ({e})") from None
