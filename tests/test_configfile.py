"""`clear-eval --config FILE` (issue 27.6): flags from YAML, command-line flags win, and the clear-eval.yaml a run
writes repeats it (the same JobConfig; end to end, the same record config hash)."""
import json
import re

import pytest

from clear_bench.cli import clear_eval_main

ARGV = ["--preset", "demo", "--method", "npo", "--modality", "text", "--forget", "5", "--lr", "0.002",
        "--epochs", "3", "--cap", "2", "--method-arg", "beta=0.2", "--seed", "3"]


@pytest.fixture()
def captured(monkeypatch, tmp_path):
    """clear-eval with the job replaced by one that records its JobConfig and writes a results.md."""
    import clear_bench.job as job

    configs = []

    def fake_run_job(cfg):
        configs.append(cfg)
        out = tmp_path / f"run{len(configs)}"
        out.mkdir()
        (out / "results.md").write_text("table\n")
        return out

    monkeypatch.setattr(job, "run_job", fake_run_job)
    return configs


def test_the_written_config_repeats_the_run(captured, tmp_path, capsys):
    assert clear_eval_main(ARGV + ["--out", str(tmp_path / "x")]) == 0
    written = tmp_path / "run1" / "clear-eval.yaml"
    text = written.read_text()
    assert "lr: 0.002" in text and "beta: '0.2'" in text
    assert clear_eval_main(["--config", str(written)]) == 0
    assert captured[1] == captured[0]
    assert clear_eval_main(["--config", str(written), "--seed", "7"]) == 0  # the command line wins
    assert captured[2].seed == 7 and captured[2].lr == 0.002 and captured[2].method_args == {"beta": "0.2"}


def test_a_hand_written_config(captured, tmp_path):
    cfg = tmp_path / "run.yaml"
    cfg.write_text("preset: demo\nmethod: gd\nlora-r: 4\nmethod_arg:\n  retain_weight: 2\nallow-unmemorised: true\n")
    assert clear_eval_main(["--config", str(cfg), "--out", str(tmp_path / "o")]) == 0
    job = captured[0]
    assert (job.method, job.lora_r, job.method_args, job.allow_unmemorised) == ("gd", 4, {"retain_weight": "2"}, True)


@pytest.mark.parametrize("text, pattern", [
    ("lora_rank: 4\n", r"unknown setting in --config .*'lora_rank'.*Did you mean 'lora-r'\?"),
    ("lora-r: many\n", r"'lora-r' \(--lora-r\) must be a int \(got 'many'\)"),
    ("allow-unmemorised: 3\n", r"must be true or false"),
    ("- a\n- b\n", r"must be a mapping of flag names to values"),
    ("method: [npo\n", r"not valid YAML"),
    ("splits: 8\n", r"--splits belongs to --track visual, not --track multimodal"),  # a foreign flag, via the file
    ("epochs: 1e300\n", r"--epochs must be <= 1000"),  # the same checks as a flag
])
def test_bad_config_files_are_one_line(text, pattern, tmp_path, capsys, captured):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text)
    code = clear_eval_main(["--config", str(cfg), "--preset", "demo", "--out", str(tmp_path / "o")])
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and re.search(pattern, errors[0]), errors
    assert not captured


def test_a_missing_config_file_is_one_line(tmp_path, capsys):
    assert clear_eval_main(["--config", str(tmp_path / "none.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.slow
def test_config_reproduces_the_record_config_hash(demo_models, tmp_path, capsys):
    """End to end on the demo: a run, then `--config` of the file it wrote into another folder: the records'
    config hashes are equal."""
    argv = ["--preset", "demo", "--method", "gd", "--cap", "2", "--epochs", "1"]
    assert clear_eval_main(argv + ["--out", str(tmp_path / "a")]) == 0
    assert clear_eval_main(["--config", str(tmp_path / "a" / "clear-eval.yaml"), "--out", str(tmp_path / "b")]) == 0
    a, b = (json.loads((tmp_path / f / "submission.json").read_text()) for f in "ab")
    assert a["config_hash"] == b["config_hash"] and a["method"] == "gd"
