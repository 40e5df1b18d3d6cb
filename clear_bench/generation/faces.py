"""Stage 2, faces: a candidate pool of `faces_per_author` faces per person, aimed at their attributes.

Backends plan every face's parameters first (cheap, global: the procedural one keeps faces
distinct) and then render each face (expensive, cached per item). `procedural` draws with PIL;
`diffusers` prompts a text-to-image model (see `diffusion.py`).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..utils import derive_seed
from .config import GenerationConfig
from .draw import draw_face, face_params, save_png
from .records import Author, FaceCandidate
from .registry import Registry
from .stage import StageContext


@dataclass(frozen=True)
class FaceSpec:
    """One face to make: for whom, with which seed and target attributes."""

    face_id: str
    author_id: int
    seed: int
    gender: str
    age: int
    ethnicity: str


class FaceSource(Protocol):
    info: dict[str, Any]

    def plan(self, specs: list[FaceSpec]) -> list[dict[str, Any]]: ...

    def render(self, spec: FaceSpec, params: dict[str, Any], path: Path) -> None: ...


FACE_SOURCES: Registry = Registry("face source")


@FACE_SOURCES.register("procedural")
class ProceduralFaces:
    """Cartoon portraits: skin from ethnicity, hair style from gender, grey hair from age 60."""

    def __init__(self, config: GenerationConfig, options: dict[str, Any]):
        self.size = int(options.get("size", config.image_size))
        self.info = {"backend": "procedural", "size": self.size}

    def plan(self, specs: list[FaceSpec]) -> list[dict[str, Any]]:
        seen: set[tuple] = set()
        out = []
        for spec in specs:
            rng = random.Random(spec.seed)
            for _ in range(200):  # redraw until the look is new to the pool (when possible)
                p = face_params(spec.gender, spec.age, spec.ethnicity, rng)
                look = (p["skin"], p["hair"], p["style"], p["eyes"], p["shirt"], p["background"])
                if look not in seen:
                    break
            seen.add(look)
            out.append(p)
        return out

    def render(self, spec: FaceSpec, params: dict[str, Any], path: Path) -> None:
        save_png(draw_face(params, self.size, self.size), path)


def face_specs(config: GenerationConfig, authors: list[Author]) -> list[FaceSpec]:
    """`faces_per_author` specs per person, with the target attributes jittered a little."""
    specs = []
    for a in authors:
        for k in range(config.faces_per_author):
            seed = derive_seed(config.seed, "face", a.author_id, k)
            rng = random.Random(seed)
            ethnicity = max(sorted(a.ethnicity), key=lambda e: a.ethnicity[e]) if a.ethnicity else "unknown"
            age = max(18, min(90, (a.age or 50) + rng.randint(-8, 8)))
            specs.append(FaceSpec(f"a{a.author_id:04d}-c{k:02d}", a.author_id, seed, a.gender, age, ethnicity))
    return specs


def make_face_source(config: GenerationConfig) -> FaceSource:
    return FACE_SOURCES.get(config.face_source)(config, config.face_options)


def run_faces(ctx: StageContext, config: GenerationConfig, authors: list[Author]) -> dict[str, list]:
    """Render the pool; each face is an item, so an interrupted run resumes where it stopped."""
    source = make_face_source(config)
    ctx.info.update(source.info)
    specs = face_specs(config, authors)
    faces = []
    for spec, params in ctx.bar(list(zip(specs, source.plan(specs))), desc="faces"):
        def make(prefix: Path, spec=spec, params=params) -> dict:
            source.render(spec, params, prefix.with_suffix(".png"))
            return {"params": params}

        rec = ctx.item(spec.face_id, make)
        faces.append(FaceCandidate(spec.face_id, spec.author_id, spec.seed,
                                   ctx.rel(ctx.items_dir / f"{spec.face_id}.png"), rec["params"]))
    return {"faces": faces}
