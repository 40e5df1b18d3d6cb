"""The generation config and its presets.

Each backend is chosen by registry name; its options are a plain dict passed to the backend, so a
new backend needs no new config field. Everything here goes into the stage fingerprints.
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any

from ..errors import ClearBenchError, UnknownNameError

log = logging.getLogger(__name__)


@dataclass
class GenerationConfig:
    """Everything that determines a generated dataset.

    Attributes:
        preset: the preset this config came from ("demo", "clear" or "custom").
        seed: global seed; every item's seed is derived from it and the item's key.
        authors: number of (non-holdout) authors; None = all the author source has.
        holdout_authors: extra persons that appear only in the `holdout_perturbed` configs.
        images_per_author: scene images per author (CLEAR: one per QA pair, about 19).
        image_size: side of the square images, in pixels.
        faces_per_author: candidate faces generated per person (the pool is this many times the persons).
        author_source / face_source / attribute_estimator / scene_renderer / real_sets: backend names.
        *_options: options passed to that backend (model ids, steps, paths...).
        match_weights: weights of the attribute-mismatch cost (gender, ethnicity, age, quality).
        retain_perturbed_authors: how many retain persons `retain_perturbed` holds (None = all).
    """

    preset: str = "custom"
    seed: int = 0
    authors: int | None = 20
    holdout_authors: int = 4
    images_per_author: int = 3
    image_size: int = 32
    faces_per_author: int = 3
    author_source: str = "procedural"
    author_options: dict[str, Any] = field(default_factory=dict)
    face_source: str = "procedural"
    face_options: dict[str, Any] = field(default_factory=dict)
    attribute_estimator: str = "params"
    attribute_options: dict[str, Any] = field(default_factory=dict)
    match_weights: dict[str, float] = field(default_factory=lambda: {"gender": 3.0, "ethnicity": 2.0,
                                                                       "age": 1.0, "quality": 0.5})
    scene_renderer: str = "procedural"
    scene_options: dict[str, Any] = field(default_factory=dict)
    real_sets: str = "procedural"
    real_options: dict[str, Any] = field(default_factory=dict)
    retain_perturbed_authors: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self) -> "GenerationConfig":
        """Check numbers before any work starts; raise one-line `ClearBenchError`s."""
        if self.authors is not None and self.authors < 2:
            raise ClearBenchError(f"--authors must be at least 2, so that forget and retain sets are both non-empty "
                                  f"(got {self.authors})")
        if self.authors is not None and self.authors + self.holdout_authors < 6:
            raise ClearBenchError(f"need at least 6 persons (authors + holdout) to draw 5 perturbed names "
                                  f"(got {self.authors} + {self.holdout_authors})")
        if self.holdout_authors < 0:
            raise ClearBenchError(f"holdout_authors must be >= 0 (got {self.holdout_authors})")
        if self.images_per_author < 1:
            raise ClearBenchError(f"--images-per-author must be at least 1 (got {self.images_per_author})")
        if self.image_size < 8 or self.image_size % 8:
            raise ClearBenchError(f"image_size must be a multiple of 8, at least 8 (got {self.image_size})")
        if self.faces_per_author < 1:
            raise ClearBenchError(f"faces_per_author must be at least 1 (got {self.faces_per_author})")
        return self


def _demo(**kw) -> GenerationConfig:
    return GenerationConfig(preset="demo", **kw)


def clear_estimator() -> str:
    """The clear preset's attribute estimator: the real age and gender models when the `faces` extra is
    installed, else `params`, said in one line."""
    from .facemodels import EXTRA, available

    if available():
        return "age_gender"
    log.warning("clear preset: the face models are not installed (%s), so faces are not checked by a detector and "
                "attributes fall back to 'params' (the gender and age each face was prompted for)", EXTRA)
    return "params"


def _clear(**kw) -> GenerationConfig:
    """The paper-scale dataset: TOFU authors, diffusers faces and identity-consistent scenes (GPU)."""
    base = dict(preset="clear", authors=None, holdout_authors=0, images_per_author=20, image_size=1024,
                faces_per_author=10, author_source="tofu", face_source="diffusers",
                face_options={"model": "stabilityai/stable-diffusion-xl-base-1.0", "steps": 30},
                attribute_estimator=kw.pop("attribute_estimator", None) or clear_estimator(),
                scene_renderer="ip_adapter_faceid",
                scene_options={"model": "stabilityai/stable-diffusion-xl-base-1.0",
                               "ip_adapter": "h94/IP-Adapter-FaceID",
                               "ip_adapter_weight": "ip-adapter-faceid_sdxl.bin", "embedder": "insightface",
                               "steps": 30},
                real_sets="hub", retain_perturbed_authors=20)
    return GenerationConfig(**{**base, **kw})


PRESETS = {"demo": _demo, "clear": _clear}


def preset(name: str, **overrides) -> GenerationConfig:
    """The config of preset `name`, with `overrides` (None values are ignored) applied."""
    if name not in PRESETS:
        raise UnknownNameError("preset", name, PRESETS)
    return PRESETS[name](**{k: v for k, v in overrides.items() if v is not None}).validate()
