"""Stage 3, attributes: what an estimator says about each face (gender, age, ethnicity, quality).

Backends: `params` reads the attributes a face was generated with (exact for procedural faces,
the prompt's intent for text-to-image faces: a stand-in when no estimator is installed). A real
estimator (FairFace, uniface, deepface...) is a class with `estimate(image, face) -> FaceAttributes`
registered in `ATTRIBUTE_ESTIMATORS`.
"""
from __future__ import annotations

from typing import Any

from .config import GenerationConfig
from .records import FaceAttributes, FaceCandidate
from .registry import Registry
from .stage import StageContext

ATTRIBUTE_ESTIMATORS: Registry = Registry("attribute estimator")


@ATTRIBUTE_ESTIMATORS.register("params")
class ParamsEstimator:
    """Trusts the generation parameters: gender, age and ethnicity the face was made for."""

    needs_image = False

    def __init__(self, config: GenerationConfig, options: dict[str, Any]):
        self.info = {"backend": "params"}

    def estimate(self, image, face: FaceCandidate) -> FaceAttributes:
        p = face.params
        gender = p.get("gender", "unknown")
        p_female = {"female": 1.0, "male": 0.0}.get(gender, 0.5)
        eth = p.get("ethnicity")
        return FaceAttributes(face.face_id, p_female, float(p.get("age", 50)),
                              {eth: 1.0} if eth and eth != "unknown" else {}, 1.0)


def make_estimator(config: GenerationConfig):
    return ATTRIBUTE_ESTIMATORS.get(config.attribute_estimator)(config, config.attribute_options)


def run_attributes(ctx: StageContext, config: GenerationConfig, faces: list[FaceCandidate]) -> dict[str, list]:
    """Estimate every face's attributes (one cached item per face)."""
    from PIL import Image

    est = make_estimator(config)
    ctx.info.update(est.info)
    out = []
    for face in ctx.bar(faces, desc="attributes"):
        def make(prefix, face=face) -> dict:
            image = Image.open(ctx.abs(face.image)).convert("RGB") if getattr(est, "needs_image", True) else None
            a = est.estimate(image, face)
            return {"p_female": a.p_female, "age": a.age, "ethnicity": a.ethnicity, "quality": a.quality}

        out.append(FaceAttributes(face.face_id, **ctx.item(face.face_id, make)))
    return {"attributes": out}
