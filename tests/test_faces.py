"""Real face models (the `faces` extra) on real photographs that ship in packages, and the path without them.

The photographs: scikit-image's `astronaut()` (Eileen Collins, NASA, public domain) and matplotlib's
`sample_data/grace_hopper.jpg` (Grace Hopper, US Navy, public domain). The tests of the real models skip when
the extra is not installed; the tests of the missing-extra path always run (CI installs only `.[test]`).
"""
from __future__ import annotations

import importlib.util
import logging

import numpy as np
import pytest

from clear_bench.errors import ClearBenchError
from clear_bench.generation import facemodels
from clear_bench.generation.config import preset
from clear_bench.generation.pipeline import preflight
from clear_bench.generation.records import FaceCandidate

real = pytest.mark.skipif(not facemodels.available(), reason="the faces extra is not installed")


@pytest.fixture
def no_faces_extra(monkeypatch):
    """Simulate an environment without the extra: the faces packages are not importable."""
    find = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a, **k: None if name.split(".")[0] in facemodels.PACKAGES else find(name, *a, **k))


def test_choosing_the_real_estimator_without_the_extra_is_one_line_naming_it(no_faces_extra, tmp_path):
    config = preset("demo", authors=6, holdout_authors=0)
    config.attribute_estimator = "age_gender"
    with pytest.raises(ClearBenchError) as e:
        preflight(config, tmp_path / "out", None, None)
    line = str(e.value)
    assert "clear-bench[faces]" in line and "age_gender" in line and "\n" not in line
    assert not (tmp_path / "out").exists()


def test_clear_preset_says_in_one_line_what_it_falls_back_to(no_faces_extra, caplog):
    with caplog.at_level(logging.WARNING, logger="clear_bench.generation.config"):
        config = preset("clear")
    assert config.attribute_estimator == "params"
    (record,) = caplog.records
    assert "clear-bench[faces]" in record.getMessage() and "'params'" in record.getMessage()
    assert "\n" not in record.getMessage()


@real
def test_clear_preset_uses_the_real_estimator_when_installed(caplog):
    with caplog.at_level(logging.WARNING, logger="clear_bench.generation.config"):
        assert preset("clear").attribute_estimator == "age_gender"
    assert not caplog.records
    assert preset("clear", attribute_estimator="params").attribute_estimator == "params"


def astronaut():
    skimage_data = pytest.importorskip("skimage.data")
    return skimage_data.astronaut()


def hopper():
    from matplotlib import cbook
    from PIL import Image

    return np.asarray(Image.open(cbook.get_sample_data("grace_hopper.jpg")).convert("RGB"))


def mirror(a):
    return np.ascontiguousarray(a[:, ::-1])


@real
def test_detector_finds_one_face_in_a_photograph_and_none_in_a_blank_image():
    models = facemodels.face_models()
    (face,) = models.detect(astronaut())
    left, top, right, bottom = face.box
    assert 150 < left < right < 300 and 50 < top < bottom < 200 and face.score > 0.5  # her face, upper left
    assert models.detect(np.full((256, 256, 3), 128, np.uint8)) == []
    info = models.info
    assert info["same_person_below"] == 0.6 and len(info["models"]["embedding"]["sha256"]) == 64


@real
def test_estimator_gives_age_and_gender_of_a_photograph_and_rejects_a_face_less_image(tmp_path):
    from PIL import Image

    from clear_bench.generation.attributes import AgeGenderEstimator

    est = AgeGenderEstimator(preset("demo"), {})
    cand = FaceCandidate("a0000-c00", 0, 0, "x.png", {"ethnicity": "White"})
    a = est.estimate(Image.fromarray(astronaut()), cand)
    assert not a.rejected and a.p_female > 0.6 and 20 <= a.age <= 60 and a.ethnicity == {"White": 1.0}
    assert 0.5 < a.quality <= 1.0
    blank = est.estimate(Image.new("RGB", (256, 256), (200, 180, 160)), cand)
    assert blank.rejected.startswith("0 faces") and blank.quality == 0.0
    two = est.estimate(Image.fromarray(np.concatenate([astronaut(), hopper()[:512, :512]], axis=1)), cand)
    assert two.rejected.startswith("2 faces")
    models = est.info["models"]
    assert {"age", "gender", "embedding", "landmarks"} <= set(models)
    assert models["age"]["file"] == "age-v1.onnx" and models["age"]["licence"] == "CC0-1.0"
    assert all(len(m["sha256"]) == 64 for m in models.values() if "sha256" in m)


@real
def test_embedding_calls_a_photo_and_its_mirror_the_same_person_and_two_people_different():
    models = facemodels.face_models()

    def embed(a):
        (face,) = models.detect(a)
        return models.embed(a, face)

    ea, eh = embed(astronaut()), embed(hopper())
    assert np.linalg.norm(ea - embed(mirror(astronaut()))) < facemodels.SAME_PERSON
    assert np.linalg.norm(eh - embed(mirror(hopper()))) < facemodels.SAME_PERSON
    assert np.linalg.norm(ea - eh) > facemodels.SAME_PERSON


@real
def test_pipeline_with_the_real_estimator_records_the_models_and_refuses_faces_it_cannot_find(tmp_path):
    """The demo's drawn faces are not faces to dlib's detector: every candidate is rejected, and the match stage
    says so in one line instead of matching persons to face-less images."""
    import json

    from clear_bench.generation.pipeline import generate

    config = preset("demo", authors=6, holdout_authors=0, images_per_author=1, faces_per_author=1)
    config.attribute_estimator = "age_gender"
    with pytest.raises(ClearBenchError, match="rejected 6 of 6 candidate faces .0 faces detected"):
        generate(config, tmp_path / "out", work_dir=tmp_path / "work", progress=False)
    manifest = json.loads((tmp_path / "work" / "attributes" / "manifest.json").read_text())
    models = manifest["backend"]["models"]
    assert manifest["backend"]["rejected"] == 6 and models["gender"]["file"] == "gender-v1.onnx"
    assert models["embedding"]["sha256"] == facemodels.describe(
        facemodels.model_file("dlib_face_recognition_resnet_model_v1.dat"))["sha256"]


# --------------------------------------------------------------------------- identity audit


def test_audit_identity_without_the_extra_is_one_line_naming_it(no_faces_extra, tmp_path, capsys):
    from clear_bench.cli import main

    assert main(["audit-identity", "--data", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "clear-bench[faces]" in err and "\n" not in err
    assert main(["validate", "--data", "demo", "--min-identity-rate", "0.9"]) == 2
    assert "clear-bench[faces]" in capsys.readouterr().err
    assert main(["validate", "--data", "demo", "--min-identity-rate", "1.5"]) == 2
    assert "must be in [0, 1]" in capsys.readouterr().err


def _person(name, face, *scenes):
    from PIL import Image

    return audit_mod().PersonImages(name, lambda: Image.fromarray(face),
                                    [(label, lambda a=a: Image.fromarray(a)) for label, a in scenes])


def audit_mod():
    from clear_bench.generation import audit

    return audit


@real
def test_audit_of_real_photographs_mirror_is_the_same_person_another_person_is_not(tmp_path):
    from PIL import Image

    small = np.asarray(Image.fromarray(astronaut()).resize((384, 384)))
    blank = np.full((256, 256, 3), 90, np.uint8)
    persons = [_person("Eileen Collins", astronaut(), ("mirror.png", mirror(astronaut())), ("small.png", small)),
               _person("Grace Hopper", hopper(), ("mirror.png", mirror(hopper())), ("blank.png", blank))]
    report = audit_mod().audit(persons)
    rows = {r["name"]: r for r in report["persons"]}
    collins, hopper_row = rows["Eileen Collins"], rows["Grace Hopper"]
    assert collins["same_identity_rate"] == 1.0 and collins["detection_rate"] == 1.0 and not collins["failures"]
    assert max(collins["own"]) < 0.6 < min(collins["nearest_other"])  # her mirror is her, and not Grace Hopper
    assert hopper_row["detection_rate"] == 0.5 and hopper_row["same_identity_rate"] == 0.5
    assert hopper_row["failures"] == [{"image": "blank.png", "reason": "no face detected"}]
    assert hopper_row["nearest_other"][0] > 0.6
    assert report["persons"][0]["name"] == "Grace Hopper"  # worst first
    assert report["overall"]["images"] == 4 and report["overall"]["same_identity_rate"] == 0.75
    paths = audit_mod().write_report(report, persons, tmp_path / "audit")
    assert Image.open(paths["sheet"]).size == (9 * 96, 2 * 110) and Image.open(paths["plot"]).size[0] > 300
    assert "| Grace Hopper | yes | 2 | 50% | 50% |" in paths["table"].read_text()


@real
def test_audit_identity_on_the_demo_reports_that_drawn_faces_are_not_detected(tmp_path, capsys):
    """The demo's faces are drawings: dlib's detector finds none, and the audit says so (the rate is 0, which
    `validate --min-identity-rate` turns into a failure)."""
    from clear_bench.cli import main
    from clear_bench.generation import build_demo

    data = build_demo(tmp_path / "demo", authors=6, holdout_authors=0, images_per_author=2)
    assert main(["audit-identity", "--data", str(data), "--out", str(tmp_path / "a"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.count("| NO | 2 | 0% | 0% |") == 6 and "0 matched faces detected" in out and "detection 0.0%" in out
    assert (tmp_path / "a" / "distances.png").is_file() and (tmp_path / "a" / "contact_sheet.png").is_file()
    assert main(["validate", "--data", str(data), "--min-identity-rate", "0.5"]) == 1
    assert "identity audit: 0.0% of 12 scene images" in capsys.readouterr().out
