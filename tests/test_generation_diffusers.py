"""The real diffusers path end to end on CPU: text-to-image faces and IP-Adapter FaceID scenes with
tiny random-weight models built from configs (no Hub)."""
from __future__ import annotations

import json

import datasets
import pytest

from clear_bench.data.schema import CLEAR_SCHEMAS, TOFU_SCHEMAS, validate_columns, validate_rows
from clear_bench.generation import generate, preset
from clear_bench.generation.publish import PARQUET, config_folder
from tiny_diffusion import FACEID_FILE, build_tiny_sd


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: thread hand-offs cost more than they bring on a shared 2-core box
    yield build_tiny_sd(tmp_path_factory.mktemp("tiny"))
    torch.set_num_threads(threads)


def diffusers_config(sd, faceid):
    config = preset("demo", authors=4, holdout_authors=2, images_per_author=1, faces_per_author=1, image_size=32)
    config.face_source, config.face_options = "diffusers", {"model": str(sd), "steps": 2, "guidance": 2.0}
    config.scene_renderer = "ip_adapter_faceid"
    config.scene_options = {"model": str(sd), "steps": 2, "guidance": 2.0, "ip_adapter": str(faceid),
                            "ip_adapter_weight": FACEID_FILE, "embedder": "pixels", "scale": 0.8}
    return config


def test_faceid_pipeline_end_to_end_is_deterministic(tiny, tmp_path):
    sd, faceid = tiny
    first = generate(diffusers_config(sd, faceid), tmp_path / "a", work_dir=tmp_path / "wa", progress=False)
    assert first.stages["faces"]["backend"]["backend"] == "diffusers"
    assert first.stages["scenes"]["backend"]["backend"] == "ip_adapter_faceid"
    assert first.stages["scenes"]["items"]["made"] == 6
    for dataset, schemas in (("clear", CLEAR_SCHEMAS), ("tofu", TOFU_SCHEMAS)):
        for config in schemas:
            ds = datasets.load_dataset("parquet", split="train",
                                       data_files=str(first.out_dir / dataset / config_folder(config) / PARQUET))
            validate_columns("tiny", dataset, config, ds.features)
            validate_rows("tiny", config, ds, dataset=dataset)
    full = datasets.load_dataset("parquet", data_files=str(first.out_dir / "clear/full" / PARQUET), split="train")
    assert full[0]["image"].size == (32, 32) and len({im.tobytes() for im in full["image"]}) == len(full)

    second = generate(diffusers_config(sd, faceid), tmp_path / "b", work_dir=tmp_path / "wb", progress=False)
    sha = lambda r: json.loads((r.out_dir / "manifest.json").read_text())["sha256"]  # noqa: E731
    assert sha(first) == sha(second)
    scenes = sorted((tmp_path / "wa" / "scenes" / "items").glob("*.png"))
    assert [p.read_bytes() for p in scenes] == [(tmp_path / "wb" / "scenes" / "items" / p.name).read_bytes()
                                                 for p in scenes]


def test_face_embedding_changes_the_scene(tiny, tmp_path):
    """The FaceID conditioning is live: the same prompt and seed with another face gives another image."""
    import random

    from clear_bench.generation.diffusion import FaceIDScenes
    from clear_bench.generation.draw import draw_face, face_params
    from clear_bench.generation.records import Author, FaceCandidate
    from clear_bench.generation.scenes import scene_specs

    sd, faceid = tiny
    config = diffusers_config(sd, faceid)
    renderer = FaceIDScenes(config, config.scene_options)
    spec = scene_specs(config, Author(0, "Anna Stone", "female", 40, {}, {"city": "Lyon"}, []))[0]
    out = []
    for k, (gender, ethnicity) in enumerate((("female", "White"), ("male", "Black"))):
        draw_face(face_params(gender, 30, ethnicity, random.Random(k)), 32, 32).save(tmp_path / f"f{k}.png")
        renderer.render(spec, FaceCandidate(f"f{k}", 0, 0, ""), tmp_path / f"f{k}.png", tmp_path / f"s{k}.png")
        out.append((tmp_path / f"s{k}.png").read_bytes())
    assert out[0] != out[1]
