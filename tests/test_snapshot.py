"""`--data CLEAR --tofu TOFU` with single-repo snapshots laid out as `hf download REPO --repo-type dataset
--local-dir DIR` writes them (README.md with a YAML `configs:` list), built here from the demo data:
CLEAR with one folder per config (and data/ for default), TOFU with one JSON-lines file per config at the
root, found only through its card."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from clear_bench.cli import clear_eval_main, main
from clear_bench.data.sources import DataSource, card_configs, repo_of
from clear_bench.presets import data_source


@pytest.fixture(scope="module")
def snapshots(demo_source, tmp_path_factory):
    root = tmp_path_factory.mktemp("snapshots")
    clear = Path(shutil.copytree(demo_source.clear, root / "CLEAR"))
    tofu = root / "TOFU"
    tofu.mkdir()
    card = ["---", "configs:"]
    for folder in sorted(p for p in Path(demo_source.tofu).iterdir() if p.is_dir()):
        DataSource(tofu=demo_source.tofu).load("tofu", folder.name).to_json(str(tofu / f"{folder.name}.json"))
        card += [f"- config_name: {folder.name}", f"  data_files: {folder.name}.json"]
    (tofu / "README.md").write_text("\n".join(card + ["---", "# TOFU (test copy)", ""]))
    (tofu / ".gitattributes").write_text("*.json filter=lfs\n")  # what a Hub snapshot also holds
    return clear, tofu


def test_snapshots_are_told_apart_by_their_configs(snapshots):
    clear, tofu = snapshots
    assert repo_of(clear) == "clear" and repo_of(tofu) == "tofu" and repo_of(clear.parent) is None
    assert card_configs(tofu)["forget10_perturbed"] == ["forget10_perturbed.json"]
    source = DataSource.resolve(str(clear), str(tofu))
    assert source == DataSource(str(clear), str(tofu))
    assert source.has_config("tofu", "holdout_perturbed") and not source.has_config("tofu", "nonesuch")
    assert len(source.load("tofu", "forget10_perturbed")) == len(data_source("demo").load(
        "tofu", "forget10_perturbed"))


def test_validate_accepts_the_two_snapshots(snapshots, capsys):
    clear, tofu = snapshots
    assert main(["validate", "--data", str(clear), "--tofu", str(tofu)]) == 0
    out = capsys.readouterr().out
    assert "0 problems: ready to run" in out and f"TOFU={tofu}" in out


def test_the_parent_folder_layout_still_works(demo_source, capsys):
    assert main(["validate", "--data", str(Path(demo_source.clear).parent)]) == 0
    assert "ready to run" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--data", "{tofu}", "--tofu", "{clear}"], r"--data \S+TOFU is a copy of locuslab/TOFU .* give it as --tofu"),
    (["--data", "{clear}", "--tofu", "{clear}"], r"--tofu \S+CLEAR is a copy of therem/CLEAR .* give it as --data"),
    (["--data", "{clear}", "--tofu", "{clear}/../nope"], r"TOFU folder \S+nope does not exist"),
])
def test_swapped_or_missing_snapshots_are_one_line_errors(snapshots, argv, message, capsys):
    import re

    clear, tofu = snapshots
    argv = [a.format(clear=clear, tofu=tofu) for a in argv]
    for command in (["validate"], ["finetune", "--preset", "demo", "--out", str(clear.parent / "m")]):
        assert main(command + argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and re.search(message, err), err
    assert clear_eval_main(["--preset", "demo", "--method", "ga"] + argv) == 2
    assert re.search(message, capsys.readouterr().err)


@pytest.mark.slow
def test_clear_eval_runs_on_the_snapshots(snapshots, demo_models, tmp_path, monkeypatch, capsys):
    clear, tofu = snapshots
    # the demo's target and gold (the same rows): the snapshots change where the data is read from, not the models
    monkeypatch.setattr("clear_bench.job.cached_finetune",
                        lambda preset, source, split, *args: demo_models["target" if split == "full" else "gold"])
    out = tmp_path / "run"
    assert clear_eval_main(["--preset", "demo", "--method", "ga", "--data", str(clear), "--tofu", str(tofu),
                            "--cap", "2", "--epochs", "1", "--out", str(out)]) == 0
    record = json.loads((out / "submission.json").read_text())
    # a record names no machine path (issue 22.7): the snapshots are named by their folder, not their tmp path
    assert record["data"]["clear"].endswith(clear.name) and record["data"]["tofu"].endswith(tofu.name)
    assert str(tmp_path) not in json.dumps(record)
    assert json.loads((out / "eval" / "run.json").read_text())["data"] == {"clear": str(clear), "tofu": str(tofu)}
    assert "tofu_forget" in (out / "results.md").read_text()
