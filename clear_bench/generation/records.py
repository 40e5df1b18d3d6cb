"""Typed records that flow between generation stages, stored as JSON lines.

Image fields hold paths relative to the run's work folder, so a work folder can be moved.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..utils import atomic_write_text

T = TypeVar("T")


@dataclass
class QA:
    """One question-answer pair about an author; `kind` names the fact it states ("city", ...) or ""."""

    question: str
    answer: str
    kind: str = ""
    paraphrased_question: str | None = None
    paraphrased_answer: str | None = None
    perturbed_answer: list[str] | None = None

    @property
    def has_perturbations(self) -> bool:
        return bool(self.paraphrased_answer and self.perturbed_answer)


@dataclass
class Author:
    """A fictitious person: attributes used to find a face, facts used in captions, and QA text.

    `ethnicity` is a distribution over labels; `facts` maps a fact kind to its value
    ({"city": "Lyon", "profession": "baker"}). Holdout persons appear only in holdout configs.
    """

    author_id: int
    name: str
    gender: str  # "male", "female" or "unknown"
    age: int | None
    ethnicity: dict[str, float]
    facts: dict[str, str]
    qa: list[QA]
    holdout: bool = False

    @classmethod
    def from_dict(cls, d: dict) -> "Author":
        return cls(**{**d, "qa": [QA(**q) for q in d["qa"]]})


@dataclass
class FaceCandidate:
    """A face in the candidate pool; `params` are what it was generated from (drawing params or prompt)."""

    face_id: str
    author_id: int  # the author whose attributes it was generated for, -1 for an untargeted face
    seed: int
    image: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class FaceAttributes:
    """What an attribute estimator says about a face; `rejected` says why it may not be matched ("" = usable)."""

    face_id: str
    p_female: float
    age: float
    ethnicity: dict[str, float]
    quality: float = 1.0
    rejected: str = ""


@dataclass
class Match:
    """The face assigned to an author, with its cost broken down by term."""

    author_id: int
    face_id: str
    cost: float
    breakdown: dict[str, float]


@dataclass
class Scene:
    """One scene image of an author: the scene type, the fact it illustrates and how it was rendered."""

    author_id: int
    index: int
    scene: str
    fact_kind: str
    qa_index: int
    seed: int
    prompt: str
    image: str

    @property
    def key(self) -> str:
        """The item key of this scene in the scenes stage."""
        return f"a{self.author_id:04d}-s{self.index:02d}"


@dataclass
class Caption:
    """A scene's caption set. The perturbation fields are filled by the perturb stage."""

    author_id: int
    index: int
    name: str
    scene: str
    fact_kind: str
    caption: str
    paraphrased_caption: str
    perturbed_captions: list[str] = field(default_factory=list)
    perturbed_names: list[str] = field(default_factory=list)


@dataclass
class RealItem:
    """A `real_faces` (kind "face") or `real_world` (kind "world") item."""

    kind: str
    index: int
    image: str
    answer: str
    options: list[str]
    question: str | None = None
    prompt: str | None = None


@dataclass
class TableRow:
    """One row of a published config: column -> value; image columns hold a work-relative path or None."""

    config: str
    values: dict[str, Any]


def to_dict(record: Any) -> dict:
    return dataclasses.asdict(record)


def from_dict(cls: type[T], d: dict) -> T:
    maker = getattr(cls, "from_dict", None)
    return maker(d) if maker else cls(**d)


def write_jsonl(path: str | Path, records: list) -> Path:
    """Write records atomically, one JSON object a line (keys sorted, so the bytes are deterministic)."""
    lines = (json.dumps(to_dict(r), sort_keys=True, ensure_ascii=False) for r in records)
    return atomic_write_text(path, "".join(line + "\n" for line in lines))


def read_jsonl(path: str | Path, cls: type[T]) -> list[T]:
    with open(path, encoding="utf-8") as f:
        return [from_dict(cls, json.loads(line)) for line in f if line.strip()]
