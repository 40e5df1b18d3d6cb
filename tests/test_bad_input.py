"""Bad input ends in one clear line on stderr, a non-zero exit, and nothing half-written.

Each case runs a real command in-process (no model is trained): the data, model and record
problems a user actually meets, plus simulated disk-full and unwritable output.
"""
import errno
import json
import shutil
from pathlib import Path

import datasets
import pytest

from clear_bench.cli import clear_eval_main, clear_generate_main, main
from clear_bench.errors import ClearBenchError

from _eval_records import synthetic_run


def _run(fn, argv, capsys):
    code = fn(argv)
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("error:")]
    return code, errors


def _assert_one_line(code, errors, pattern):
    import re

    assert code != 0
    assert len(errors) == 1, errors
    assert re.search(pattern, errors[0]), errors[0]


# ----------------------------------------------------------------------------- names and flags

@pytest.mark.parametrize("argv, pattern", [
    (["--preset", "demo", "--method", "npoo"], r"unknown method 'npoo'.*Did you mean 'npo'"),
    (["--preset", "demo", "--modality", "audio"], r"unknown modality 'audio'; valid: text, image, both"),
    (["--preset", "demo", "--forget", "20"], r"forget size 20 is not one of 1, 5, 10"),
    (["--preset", "fast"], r"unknown preset 'fast'; valid: demo, llama-vision, llava, paper, qwen2.5-3b"),
    (["--preset", "demo", "--method-arg", "beta"], r"--method-arg 'beta' must look like KEY=VALUE"),
    (["--preset", "demo", "--method", "npo", "--method-arg", "gamma=1"], r"no hyper-parameter 'gamma'.*beta"),
    (["--preset", "demo", "--method", "npo", "--method-arg", "beta=abc"], r"beta='abc' is not a valid float"),
    (["--preset", "demo", "--method", "nosuchpkg.mod:Method"], r"cannot import method 'nosuchpkg.mod:Method'"),
    (["--preset", "demo", "--method", "scrub", "--method-arg", "rewind=ture"], r"rewind='ture' is not a valid bool"),
    (["--preset", "demo", "--batch-size", "0"], r"--batch-size must be >= 1 \(got 0\)"),
    (["--preset", "demo", "--lr=-1e-3"], r"lr must be > 0"),
    (["--preset", "demo", "--epochs", "0"], r"epochs must be > 0"),
    (["--preset", "demo", "--cap", "-2"], r"--cap must be >= 0 \(0 = every item\) \(got -2\)"),
])
def test_clear_eval_rejects_bad_flags_before_any_work(argv, pattern, capsys, tmp_path):
    out = tmp_path / "run"
    code, errors = _run(clear_eval_main, argv + ["--out", str(out)], capsys)
    _assert_one_line(code, errors, pattern)
    assert not out.exists()


def test_unknown_generation_preset(capsys, tmp_path):
    code, errors = _run(clear_generate_main, ["--preset", "nosuch", "--out", str(tmp_path / "d")], capsys)
    assert code != 0 and not (tmp_path / "d").exists()


# ----------------------------------------------------------------------------- data problems

@pytest.fixture()
def data_copy(demo_source, tmp_path):
    from pathlib import Path

    root = tmp_path / "data"
    shutil.copytree(Path(demo_source.clear).parent, root)
    return root


def _rewrite(root, config, fn):
    """Load a config's parquet, change it with `fn(dict_of_columns, features)`, write it back."""
    path = next((root / "clear" / config).glob("*.parquet"))
    ds = datasets.Dataset.from_parquet(str(path))
    data, features = fn(ds.to_dict(), dict(ds.features))
    datasets.Dataset.from_dict(data, features=datasets.Features(features)).to_parquet(str(path))


def _finetune(root, out):
    return ["finetune", "--preset", "demo", "--data", str(root), "--split", "retain90", "--epochs", "1",
            "--out", str(out)]


def test_out_folder_with_foreign_files_is_never_replaced(data_copy, tmp_path, capsys):
    """`--out` pointing at a folder of someone else's files stops before any work, and the files stay."""
    mine = tmp_path / "models"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    code, errors = _run(main, _finetune(data_copy, mine), capsys)
    _assert_one_line(code, errors, r"already holds files that clear-bench did not write")
    code = clear_generate_main(["--preset", "demo", "--out", str(mine)])  # (its errors read "clear-generate: error:")
    assert code != 0 and "already holds files that clear-bench did not write" in capsys.readouterr().err
    assert (mine / "thesis.tex").read_text() == "years of work" and len(list(mine.iterdir())) == 1


def test_outputs_get_the_usual_permissions(tmp_path):
    """Atomic writes go through mkstemp / mkdtemp (private modes); the results must read like plain writes."""
    import os

    from clear_bench.utils import atomic_dir, atomic_write_text

    mask = os.umask(0o022)
    try:
        f = atomic_write_text(tmp_path / "record.json", "{}")
        with atomic_dir(tmp_path / "model") as tmp:
            (tmp / "config.json").write_text("{}")
    finally:
        os.umask(mask)
    assert f.stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "model").stat().st_mode & 0o777 == 0o755


def _drop(col):
    def fn(d, f):
        d.pop(col), f.pop(col)
        return d, f
    return fn


def _stringify(col):
    def fn(d, f):
        d[col] = [", ".join(v) for v in d[col]]
        f[col] = datasets.Value("string")
        return d, f
    return fn


def _ragged(d, f):
    d["perturbed_captions"][-1] = d["perturbed_captions"][-1][:-1]
    return d, f


def _empty_list(d, f):
    d["perturbed_names"][0] = []
    return d, f


def _only_answer(d, f):
    d["options"][0] = [d["answer"][0]]
    return d, f


def _corrupt_image(d, f):
    d["image"][0] = {"bytes": b"\x89PNG not really", "path": None}
    return d, f


def _zero_byte_image(d, f):
    d["image"][0] = {"bytes": b"", "path": None}
    return d, f


def _neither(d, f):
    i = d["image"].index(None)
    d["question"][i] = None
    return d, f


@pytest.mark.parametrize("config, change, pattern", [
    ("retain90+tofu", None, r"missing config 'retain90\+tofu'"),
    ("retain90+tofu", _drop("caption"), r"config 'retain90\+tofu': missing column 'caption'"),
    ("retain_perturbed", _stringify("perturbed_names"), r"column 'perturbed_names' has type str, expected list"),
    ("retain_perturbed", _ragged, r"column 'perturbed_captions' is ragged"),
    ("retain_perturbed", _empty_list, r"row 0 has an empty 'perturbed_names' list"),
    ("real_faces", _only_answer, r"row 0 has no distractor in 'options'"),
    ("retain90+tofu", _corrupt_image, r"retain90\+tofu row 0: image cannot be decoded"),
    ("retain90+tofu", _zero_byte_image, r"retain90\+tofu row 0: image cannot be decoded"),
    ("retain90+tofu", _neither, r"is a text row but 'question' is empty"),
])
def test_data_problems_are_named(config, change, pattern, data_copy, tmp_path, capsys):
    if change is None:
        shutil.rmtree(data_copy / "clear" / config)
    else:
        _rewrite(data_copy, config, change)
    out = tmp_path / "model"
    code, errors = _run(main, _finetune(data_copy, out), capsys)
    _assert_one_line(code, errors, pattern)
    assert not out.exists() and not list(tmp_path.glob(".model*"))


def test_data_folder_without_clear_and_tofu(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, errors = _run(main, ["validate", "--data", str(tmp_path / "empty")], capsys)
    _assert_one_line(code, errors, r"neither a copy of therem/CLEAR .* nor a folder holding clear/ and tofu/")
    code, errors = _run(main, ["validate", "--data", str(tmp_path / "nope" / "x")], capsys)
    _assert_one_line(code, errors, r"does not exist.*--preset demo")


def test_hub_id_is_a_hub_id_not_a_missing_folder():
    from clear_bench.data.sources import DataSource

    assert DataSource.from_path("therem/CLEAR").clear == "therem/CLEAR"  # "owner/name": downloaded, not a folder
    for folder in ("./clear-copy", "copies/clear/v1", "/data/clear"):
        with pytest.raises(ClearBenchError, match="does not exist"):
            DataSource.from_path(folder)


def test_tofu_flag_applies_with_the_presets_data_too():
    import argparse

    from clear_bench.cli import resolve_source
    from clear_bench.presets import get_preset

    for data in (None, "therem/CLEAR"):
        source = resolve_source(argparse.Namespace(data=data, tofu="me/TOFU-copy"), get_preset("paper"))
        assert (source.clear, source.tofu) == ("therem/CLEAR", "me/TOFU-copy")


# ----------------------------------------------------------------------------- models

def test_model_folder_problems(tmp_path, capsys, demo_source):
    empty = tmp_path / "ckpt"
    empty.mkdir()
    (empty / "config.json").write_text(json.dumps({"model_type": "llava"}))
    data = ["--data", str(__import__("pathlib").Path(demo_source.clear).parent)]
    for model, pattern in [(empty, r"has no weights \(\*\.safetensors\)"),
                           (tmp_path / "ckpt" / "config.json", r"is a file|not a model folder|pass the checkpoint"),
                           (tmp_path / "missing", r"missing|does not exist|cannot load")]:
        out = tmp_path / "ev"
        code, errors = _run(main, ["evaluate", "--model", str(model), "--out", str(out), *data], capsys)
        _assert_one_line(code, errors, pattern)
        assert not out.exists()
    (empty / "pytorch_model.bin").write_bytes(b"pickle")
    code, errors = _run(main, ["evaluate", "--model", str(empty), "--out", str(tmp_path / "ev"), *data], capsys)
    _assert_one_line(code, errors, r"only pickle weights")


# ----------------------------------------------------------------------------- reports and records

def test_report_without_logs_and_without_gold(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, errors = _run(main, ["report", str(tmp_path / "empty")], capsys)
    _assert_one_line(code, errors, r"no per-item logs")
    synthetic_run(tmp_path / "run")
    code, errors = _run(main, ["report", str(tmp_path / "run"), "--metrics", "forget_quality_ks"], capsys)
    _assert_one_line(code, errors, r"forget_quality_ks.*gold")


@pytest.fixture()
def record(tmp_path):
    from clear_bench.leaderboard.records import make_record, write_record

    r = make_record(method="gd", modality="both", forget=10, seed=1, config={"preset": "demo"}, data={}, model={},
                    versions={}, metrics={"forget_metric": {"value": 0.2, "direction": "↓"}})
    return write_record(tmp_path / "rec.json", r)


@pytest.mark.parametrize("edit, pattern", [
    (lambda r: r["metrics"]["forget_metric"].update(value=0.01), r"record_hash does not match"),
    (lambda r: r.pop("seed"), r"malformed record, missing 'seed'"),
    (lambda r: r.update(forget="10"), r"'forget' should be int"),
    (lambda r: r["metrics"]["forget_metric"].update(value="0.2"), r"non-numeric value"),
])
def test_tampered_or_malformed_records_are_rejected(edit, pattern, record, tmp_path, capsys):
    data = json.loads(record.read_text())
    edit(data)
    record.write_text(json.dumps(data))
    code, errors = _run(main, ["leaderboard", str(record), "--out", str(tmp_path / "board")], capsys)
    _assert_one_line(code, errors, pattern)
    assert not (tmp_path / "board").exists()


def test_not_json_and_no_records(tmp_path, capsys):
    (tmp_path / "x.json").write_text("{not json")
    code, errors = _run(main, ["leaderboard", str(tmp_path / "x.json"), "--out", str(tmp_path / "b")], capsys)
    _assert_one_line(code, errors, r"not valid JSON")
    code, errors = _run(main, ["leaderboard", "--no-baselines", "--out", str(tmp_path / "b")], capsys)
    _assert_one_line(code, errors, r"no records given")
    (tmp_path / "run").mkdir()
    code, errors = _run(main, ["leaderboard", str(tmp_path / "run"), "--out", str(tmp_path / "b")], capsys)
    _assert_one_line(code, errors, r"is a folder; pass the record in it")
    code, errors = _run(main, ["leaderboard", "--out", str(tmp_path / "x.json")], capsys)  # a file in the way
    _assert_one_line(code, errors, r"x.json is a file, not a folder")


# ----------------------------------------------------------------------------- where results go

def test_output_below_a_file_is_refused(tmp_path, capsys, demo_source):
    (tmp_path / "afile").write_text("x")
    code, errors = _run(main, _finetune(__import__("pathlib").Path(demo_source.clear).parent,
                                        tmp_path / "afile" / "model"), capsys)
    _assert_one_line(code, errors, r"is a file, not a folder")


def test_disk_full_while_writing_results(record, tmp_path, capsys, monkeypatch):
    import os

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    out = tmp_path / "board"
    code, errors = _run(main, ["leaderboard", str(record), "--no-baselines", "--out", str(out)], capsys)
    _assert_one_line(code, errors, r"disk full at ")
    assert not (out / "leaderboard.md").exists()
    assert not [p for p in out.iterdir() if p.suffix in (".md", ".html")] if out.exists() else True
    assert not list(out.glob(".leaderboard*")) if out.exists() else True


def test_validate_offline_says_the_hub_is_unreachable_once(tmp_path, capsys, monkeypatch):
    """Issue 27.4: `validate --data therem/CLEAR` offline printed the same 300-character sentence for each of 35
    configs and exited 1; it is one line, exit 2."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)  # no local folder therem/CLEAR
    code = main(["validate", "--data", "therem/CLEAR"])
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1, captured
    assert "cannot reach the Hugging Face Hub to download therem/CLEAR;" in errors[0]
    assert "cannot reach" not in captured.out


def test_tiny_base_key_covers_every_config_it_reads(data_copy, monkeypatch):
    """The tiny base is cached by a key; every config its corpus and pretraining read must move the key, or a
    changed config goes unread (and unchecked) once a base is cached (CI failed on this order dependence)."""
    from clear_bench.data.sources import DataSource, clear_cache
    from clear_bench.training import finetune as ft

    source = DataSource.from_path(data_copy)
    read = set()
    load = DataSource.load
    monkeypatch.setattr(DataSource, "load", lambda self, d, c, validate=True: read.add((d, c)) or load(self, d, c))
    ft.corpus_of(source), ft.world_knowledge(source)
    assert ("clear", "retain_perturbed") in read and read <= set(ft.corpus_configs())
    before = ft.tiny_base_key(source)
    _rewrite(data_copy, "retain_perturbed", _ragged)
    clear_cache()
    assert ft.tiny_base_key(DataSource.from_path(data_copy)) != before


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
@pytest.mark.parametrize("out", ["/proc/clear-bench-run", "/proc/clear-bench-run/deeper"])
def test_out_that_refuses_writes_is_refused_before_work(out, demo_source, capsys, monkeypatch):
    """`--out` under /proc passes os.access as root, but no file can be made there: refused in one line before
    any fine-tuning (it was refused only after fine-tuning and evaluating both models)."""
    from clear_bench.training import finetune

    monkeypatch.setattr(finetune, "finetune", lambda *a, **k: pytest.fail("fine-tuned before refusing --out"))
    code, errors = _run(clear_eval_main, ["--preset", "demo", "--method", "npo", "--out", out], capsys)
    _assert_one_line(code, errors, r"output folder /proc/clear-bench-run\S* (cannot be written|is not writable)")


def _truncated_jpeg(d, f):
    import io

    from PIL import Image

    raw = d["image"][0]
    image = Image.open(io.BytesIO(raw["bytes"]) if raw.get("bytes") else raw["path"]).convert("RGB")
    buf = io.BytesIO()
    image.save(buf, "JPEG")
    d["image"][0] = {"bytes": buf.getvalue()[: len(buf.getvalue()) // 2], "path": None}
    return d, f


def test_truncated_image_during_evaluation_names_config_row_and_column(data_copy):
    """A JPEG cut in half in an eval config: PIL alone says "Truncated File Read"; we say which config, row and
    column (the evaluation decodes the images itself: clear_bench/eval/run.py task_samples)."""
    from clear_bench.data.sources import DataSource
    from clear_bench.errors import SchemaError
    from clear_bench.eval.run import task_samples
    from clear_bench.eval.tasks import get_task

    _rewrite(data_copy, "forget10_perturbed", _truncated_jpeg)
    ds = DataSource.from_path(data_copy).load("clear", "forget10_perturbed")
    with pytest.raises(SchemaError, match=r"CLEAR config 'forget10_perturbed' row 0: image cannot be decoded "
                                          r"\(OSError: Truncated File Read\)"):
        task_samples(get_task("forget_captions"), ds)
    assert len(task_samples(get_task("tofu_forget"), DataSource.from_path(data_copy).load("tofu", "forget10_perturbed")))
