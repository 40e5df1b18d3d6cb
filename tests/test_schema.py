"""Schema problems end in one-line errors naming the source, the config and the column."""
import io

import datasets
import pytest
from PIL import Image

from clear_bench.data.sources import DataSource, clear_cache
from clear_bench.errors import SchemaError

IMG = datasets.Image()
STRS = datasets.List(datasets.Value("string"))


def png(color=(10, 200, 10)):
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buf, format="PNG")
    return {"bytes": buf.getvalue(), "path": None}


def write(root, config, data, features):
    folder = root / config
    folder.mkdir(parents=True)
    datasets.Dataset.from_dict(data, features=datasets.Features(features)).to_parquet(
        str(folder / "train-00000-of-00001.parquet"))


def perturbed(n=2, names=None, pert_lens=None):
    pert_lens = pert_lens or [3] * n
    return ({"image": [png() for _ in range(n)], "caption": [f"P{i} sits." for i in range(n)],
             "name": names or [f"P{i}" for i in range(n)], "paraphrased_caption": [f"P{i} is sitting." for i in range(n)],
             "perturbed_captions": [[f"Q{j} sits." for j in range(k)] for k in pert_lens],
             "perturbed_names": [["A", "B", "C"] for _ in range(n)]},
            {"image": IMG, "caption": datasets.Value("string"), "name": datasets.Value("string"),
             "paraphrased_caption": datasets.Value("string"), "perturbed_captions": STRS, "perturbed_names": STRS})


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()


def _load(root, config):
    return DataSource(str(root), str(root)).load("clear", config)


def test_valid_config_loads(tmp_path):
    write(tmp_path, "retain_perturbed", *perturbed())
    ds = _load(tmp_path, "retain_perturbed")
    assert len(ds) == 2 and isinstance(ds[0]["image"], Image.Image)


def test_missing_config(tmp_path):
    write(tmp_path, "retain_perturbed", *perturbed())
    with pytest.raises(SchemaError, match=r"missing config 'forget10_perturbed'") as e:
        _load(tmp_path, "forget10_perturbed")
    assert "\n" not in str(e.value)


def test_missing_column(tmp_path):
    data, feats = perturbed()
    del data["perturbed_names"], feats["perturbed_names"]
    write(tmp_path, "retain_perturbed", data, feats)
    with pytest.raises(SchemaError, match=r"config 'retain_perturbed': missing column 'perturbed_names'") as e:
        _load(tmp_path, "retain_perturbed")
    assert str(tmp_path) in str(e.value) and "\n" not in str(e.value)


def test_wrong_column_type(tmp_path):
    data, feats = perturbed()
    data["perturbed_names"] = ["A, B", "C, D"]
    feats["perturbed_names"] = datasets.Value("string")
    write(tmp_path, "retain_perturbed", data, feats)
    with pytest.raises(SchemaError, match=r"column 'perturbed_names' has type str, expected list\[str\]"):
        _load(tmp_path, "retain_perturbed")


def test_ragged_perturbed_lists(tmp_path):
    write(tmp_path, "retain_perturbed", *perturbed(n=3, pert_lens=[3, 3, 2]))
    with pytest.raises(SchemaError, match=r"column 'perturbed_captions' is ragged \(row 2 has 2 items"):
        _load(tmp_path, "retain_perturbed")


def test_empty_perturbed_list(tmp_path):
    write(tmp_path, "retain_perturbed", *perturbed(n=2, pert_lens=[3, 0]))
    with pytest.raises(SchemaError, match=r"row 1 has an empty 'perturbed_captions' list"):
        _load(tmp_path, "retain_perturbed")


def test_options_without_distractors(tmp_path):
    write(tmp_path, "real_faces", {"image": [png()], "answer": ["Ada"], "options": [["Ada"]]},
          {"image": IMG, "answer": datasets.Value("string"), "options": STRS})
    with pytest.raises(SchemaError, match=r"row 0 has no distractor in 'options'"):
        _load(tmp_path, "real_faces")


def test_mixed_rows_need_one_complete_stream(tmp_path):
    feats = {"image": IMG, "caption": datasets.Value("string"), "question": datasets.Value("string"),
             "answer": datasets.Value("string")}
    write(tmp_path, "full+tofu", {"image": [png(), None], "caption": ["P sits.", None],
                                  "question": [None, "Who?"], "answer": [None, None]}, feats)
    with pytest.raises(SchemaError, match=r"row 1 is a text row but .answer. is empty"):
        _load(tmp_path, "full+tofu")


def test_unknown_config_name(tmp_path):
    with pytest.raises(SchemaError, match=r"unknown CLEAR config 'forget20'; valid: .*forget10"):
        _load(tmp_path, "forget20")


def test_corrupt_image_named_by_row(tmp_path):
    from clear_bench.data.convert import training_samples

    feats = {"image": IMG, "caption": datasets.Value("string"), "question": datasets.Value("string"),
             "answer": datasets.Value("string")}
    write(tmp_path, "full+tofu", {"image": [png(), {"bytes": b"not an image", "path": None}],
                                  "caption": ["P sits.", "Q sits."], "question": [None, None],
                                  "answer": [None, None]}, feats)
    ds = _load(tmp_path, "full+tofu")
    with pytest.raises(SchemaError, match=r"full\+tofu row 1: image cannot be decoded"):
        training_samples(ds, "local", "full+tofu")


def test_saved_dataset_and_parquet_load_identically(tmp_path):
    data, feats = perturbed()
    write(tmp_path / "hub", "retain_perturbed", data, feats)
    saved = tmp_path / "saved" / "retain_perturbed"
    datasets.Dataset.from_dict(data, features=datasets.Features(feats)).save_to_disk(str(saved))
    a = _load(tmp_path / "hub", "retain_perturbed")
    b = _load(tmp_path / "saved", "retain_perturbed")
    assert a.features == b.features
    assert a.remove_columns("image").to_list() == b.remove_columns("image").to_list()
    assert [x.tobytes() for x in a["image"]] == [x.tobytes() for x in b["image"]]
