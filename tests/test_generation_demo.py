"""The offline demo dataset: layout, schema, splits by person, determinism and the CLI."""
from __future__ import annotations

import json

import datasets
import pytest

from clear_bench.data.schema import CLEAR_SCHEMAS, TOFU_SCHEMAS, validate_columns, validate_rows
from clear_bench.generation import build_demo
from clear_bench.cli import clear_generate_main as main
from clear_bench.generation.publish import PARQUET, config_folder
from clear_bench.generation.splits import forget_count

SMALL = dict(authors=10, images_per_author=2, holdout_authors=2, image_size=16)


def load(root, dataset, config):
    path = root / dataset / config_folder(config) / PARQUET
    return datasets.load_dataset("parquet", data_files=str(path), split="train")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return build_demo(tmp_path_factory.mktemp("demo") / "out", seed=0, **SMALL)


def test_every_config_loads_with_its_schema(demo):
    for dataset, schemas in (("clear", CLEAR_SCHEMAS), ("tofu", TOFU_SCHEMAS)):
        for config in schemas:
            ds = load(demo, dataset, config)
            assert len(ds) > 0, (dataset, config)
            validate_columns(str(demo), dataset, config, ds.features)
            validate_rows(str(demo), config, ds, dataset=dataset)
    img = load(demo, "clear", "full")[0]["image"]
    assert img.size == (16, 16)
    assert sorted(p.name for p in demo.iterdir()) == ["clear", "faces", "manifest.json", "tofu"]  # faces/: the identity audit's matched faces


def test_card_maps_every_config_to_its_folder(demo):
    card = (demo / "clear" / "README.md").read_text()
    for config in CLEAR_SCHEMAS:
        assert f"- config_name: {config}\n" in card
        assert f'path: "{config_folder(config)}/train-*"' in card
    assert "- config_name: full\n" in (demo / "tofu" / "README.md").read_text()


def test_splits_are_by_person_and_forget_is_last(demo):
    names = lambda cfg: list(dict.fromkeys(load(demo, "clear", cfg)["name"]))  # noqa: E731
    full, holdout = names("full"), names("holdout_perturbed")
    assert len(full) == 10 and len(holdout) == 2 and not set(full) & set(holdout)
    for pct, retain in ((1, "retain99"), (5, "retain95"), (10, "retain90")):
        forget = names(f"forget{pct:02d}")
        assert forget == full[-forget_count(10, pct):]
        assert names(retain) == full[:len(full) - len(forget)]
        assert names(f"forget{pct:02d}_perturbed") == forget
    assert names("retain_perturbed") == names("retain90")
    for cap, name in zip(load(demo, "clear", "full")["caption"], load(demo, "clear", "full")["name"]):
        assert cap.startswith(name)


def test_mixed_configs_are_image_rows_then_text_rows(demo):
    for split in ("full", "forget10", "retain90"):
        mixed, images, text = load(demo, "clear", f"{split}+tofu"), load(demo, "clear", split), load(demo, "tofu", split)
        assert len(mixed) == len(images) + len(text)
        head, tail = mixed.select(range(len(images))), mixed.select(range(len(images), len(mixed)))
        assert head["caption"] == images["caption"] and all(q is None for q in head["question"])
        assert tail["question"] == text["question"] and all(i is None for i in tail["image"])


def test_real_faces_options_sometimes_hold_the_answer(demo):
    rows = list(load(demo, "clear", "real_faces"))
    inside = [r["answer"] in r["options"] for r in rows]
    assert any(inside) and not all(inside)


def test_same_seed_same_bytes_other_seed_other_bytes(demo, tmp_path):
    again = build_demo(tmp_path / "again", seed=0, **SMALL)
    other = build_demo(tmp_path / "other", seed=1, **SMALL)
    sha = lambda root: json.loads((root / "manifest.json").read_text())["sha256"]  # noqa: E731
    assert sha(again) == sha(demo)
    for path in sha(demo):
        assert (again / path).read_bytes() == (demo / path).read_bytes()
    assert sha(other)["clear/full/" + PARQUET] != sha(demo)["clear/full/" + PARQUET]


def test_cli_builds_and_reports(tmp_path, capsys):
    assert main(["--preset", "demo", "--out", str(tmp_path / "d"), "--authors", "6", "--images-per-author", "1",
                 "--holdout-authors", "0", "--image-size", "16", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "wrote" in out and "clear:" in out and "tofu:" in out
    assert not (tmp_path / "d" / "clear" / "holdout_perturbed").exists()


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["--preset", "demoo", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown preset 'demoo'" in err and "demo" in err and "\n" not in err
    assert main(["--out", str(tmp_path / "y"), "--authors", "1", "--quiet"]) == 2
    assert "at least 2" in capsys.readouterr().err


def test_folder_loads_by_config_name_through_its_card(demo, tmp_path):
    ds = datasets.load_dataset(str(demo / "clear"), "forget10+tofu", split="train", cache_dir=str(tmp_path))
    assert len(ds) == len(load(demo, "clear", "forget10+tofu"))
    assert "retain_perturbed" in datasets.get_dataset_config_names(str(demo / "tofu"))
