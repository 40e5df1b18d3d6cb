"""Stage 3, attributes: what an estimator says about each face (gender, age, ethnicity, quality).

Backends: `params` reads the attributes a face was generated with (exact for procedural faces,
the prompt's intent for text-to-image faces: a stand-in when no estimator is installed);
`age_gender` runs real models (the `faces` extra, see `facemodels.py`): dlib's face detector rejects a
candidate without exactly one face, dlib-models' age and gender nets estimate the rest. Another
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


@ATTRIBUTE_ESTIMATORS.register("age_gender")
class AgeGenderEstimator:
    """Real models: dlib's detector (exactly one face, else rejected) and dlib-models' age and gender nets.

    Options: `detector` ("hog" or "cnn"), `min_score` (detections below it are ignored), `ethnicity`
    ("params": the ethnicity the face was generated for, since no ethnicity model ships in a package;
    "none": leave it out of the match). Quality is the detector's score, capped at 1.
    """

    def __init__(self, config: GenerationConfig, options: dict[str, Any]):
        from .facemodels import MIN_SCORE, age_gender_models, face_models

        self.check(config, options)
        self.ethnicity = options.get("ethnicity", "params")
        self.faces = face_models(options.get("detector", "hog"), float(options.get("min_score", MIN_SCORE)))
        self.models = age_gender_models()
        faces_info, ag_info = self.faces.info, self.models.info
        self.info = {"backend": "age_gender", **faces_info, **ag_info,
                     "models": {**faces_info["models"], **ag_info["models"]},
                     "ethnicity": "the generation parameters (no ethnicity model ships in a package)"
                     if self.ethnicity == "params" else "not estimated"}

    @staticmethod
    def check(config: GenerationConfig, options: dict[str, Any]) -> None:
        from ..errors import ClearBenchError
        from .facemodels import require

        require("attribute estimator 'age_gender'")
        if options.get("ethnicity", "params") not in ("params", "none"):
            raise ClearBenchError(f"age_gender: ethnicity must be 'params' or 'none' (got {options['ethnicity']!r})")

    def estimate(self, image, face: FaceCandidate) -> FaceAttributes:
        found = self.faces.detect(image)
        eth = face.params.get("ethnicity") if self.ethnicity == "params" else None
        ethnicity = {eth: 1.0} if eth and eth != "unknown" else {}
        if len(found) != 1:
            return FaceAttributes(face.face_id, 0.5, 0.0, {}, 0.0,
                                  rejected=f"{len(found)} faces detected (need exactly one)")
        p_female, age = self.models.predict(image, found[0])
        return FaceAttributes(face.face_id, round(p_female, 4), age, ethnicity, round(min(1.0, found[0].score), 4))


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
            return {"p_female": a.p_female, "age": a.age, "ethnicity": a.ethnicity, "quality": a.quality,
                    "rejected": a.rejected}

        out.append(FaceAttributes(face.face_id, **ctx.item(face.face_id, make)))
    ctx.info["rejected"] = sum(bool(a.rejected) for a in out)
    return {"attributes": out}
