"""Fault injection, one group per cause of issue 17: each case asserts the exit code, one line without a
traceback, and that the output folder is unchanged (or absent); the resume cases assert equal metrics.

Causes: 1 a run folder holds one run (identity); 2 user files are never overwritten; 3 one error boundary;
4 bad numbers fail before any work; 5 validate reads every cell; 6 the cost clock survives a resume;
7 report keeps what it cannot recompute; 8 --trust-remote-code. Plus reproducibility facts (issue 13.7).
The clear-eval runs use the session's cached demo models, --cap 2 and 3 unlearning epochs (marked slow).
"""
import errno
import hashlib
import json
import shutil
import sys
from pathlib import Path

import pytest

from clear_bench import runs
from clear_bench.cli import clear_eval_main, clear_generate_main, main
from clear_bench.errors import ClearBenchError

from _eval_records import synthetic_run


def snapshot(folder: Path) -> dict | None:
    """Every file under `folder` with a hash of its bytes (None if the folder does not exist)."""
    if not folder.exists():
        return None
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def one_line(capsys, prefix: str = "error:") -> str:
    """The command's stderr: exactly one line starting with `prefix`, and no traceback anywhere."""
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "Traceback" not in captured.out, captured.err
    lines = [line for line in captured.err.strip().splitlines() if line.startswith(("error:", "internal error:"))]
    assert len(lines) == 1 and lines[0].startswith(prefix), captured.err
    return lines[0]


def refused(fn, argv, capsys, out: Path, pattern: str, code: int = 2) -> str:
    """Run a command that must fail with `code` and one line matching `pattern`, leaving `out` as it was."""
    import re

    before = snapshot(out)
    assert fn(argv) == code
    line = one_line(capsys, "error:" if code == 2 else "internal error:")
    assert re.search(pattern, line), line
    assert snapshot(out) == before
    return line


@pytest.fixture()
def demo_root(demo_source):
    return Path(demo_source.clear).parent


# ================================================================ cause 1: a run folder is one run (identity)

EVAL = ["--preset", "demo", "--method", "gd", "--modality", "both", "--cap", "2", "--epochs", "3"]


def _metrics(run: Path) -> dict:
    m = json.loads((run / "eval" / "summary.json").read_text())["metrics"]
    return {k: v["value"] for k, v in m.items() if k != "unlearn_cost_fraction"}


def _cpu(run: Path) -> float:
    return json.loads((run / "unlearn.json").read_text())["cost"]["unlearn_cpu_s"]


@pytest.fixture(scope="module")
def gd_run(demo_models, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "gd"
    assert clear_eval_main(EVAL + ["--out", str(out)]) == 0
    return out


@pytest.mark.slow
@pytest.mark.parametrize("change, differs", [
    (["--method", "npo"], r"method: \"gd\" -> \"npo\""),
    (["--lr", "0.002"], r"unlearn\.train\.lr: 0\.001 -> 0\.002"),
    (["--seed", "7"], r"seed: 42 -> 7"),
    (["--modality", "text"], r"modality: \"both\" -> \"text\""),
    (["--l1-lambda", "0.01"], r"unlearn\.l1_lambda: 0\.0 -> 0\.01"),
    (["--cap", "3"], r"cap: 2 -> 3"),
])
def test_another_run_is_refused_before_any_work(gd_run, change, differs, capsys):
    args = dict(zip(EVAL[::2], EVAL[1::2]))
    args.update(dict(zip(change[::2], change[1::2])))
    argv = [x for kv in args.items() for x in kv] + ["--out", str(gd_run)]
    line = refused(clear_eval_main, argv, capsys, gd_run, r"holds another run .*choose a fresh --out")
    import re

    assert re.search(differs, line), line


@pytest.mark.slow
def test_a_finished_run_rerun_is_already_complete_and_changes_nothing(gd_run, monkeypatch, caplog):
    """Issue 27.4: the same command on a finished run folder does no work (no fine-tune, no unlearning, no
    evaluation) and leaves every byte of the folder as it was."""
    import logging

    import clear_bench.job as job

    def no_work(*a, **k):
        raise AssertionError("a step ran on a finished run")

    before = snapshot(gd_run)
    monkeypatch.setattr(job, "run_steps", no_work)
    with caplog.at_level(logging.WARNING, logger="clear_bench.job"):
        assert clear_eval_main(EVAL + ["--out", str(gd_run)]) == 0
    assert snapshot(gd_run) == before
    assert any("already complete" in r.getMessage() for r in caplog.records)


@pytest.mark.slow
def test_the_run_folder_names_the_run(gd_run):
    marker = json.loads((gd_run / runs.MARKER).read_text())
    assert marker["tool"] == "clear-bench" and marker["schema"] == 1 and marker["kind"] == runs.CLEAR_EVAL
    ident = marker["identity"]
    assert (ident["method"], ident["modality"], ident["seed"], ident["cap"], ident["track"]) == \
        ("gd", "both", 42, 2, "multimodal")
    assert ident["unlearn"]["train"]["epochs"] == 3 and ident["finetune"][0]["split"] == "full"
    record = json.loads((gd_run / "submission.json").read_text())  # the run's stream and size, as before 21.3
    for unlearn in (ident["unlearn"], record["config"]["unlearn"]):
        assert (unlearn["modality"], unlearn["forget"], unlearn["lora_r"]) == ("both", 10, 8)
    assert all(len(v) == 16 for k, v in ident["data"].items() if "+" in k)  # content fingerprints of the configs
    assert not list(gd_run.glob(".checkpoint-*"))  # cleaned when the run finished


@pytest.mark.slow
def test_same_identity_resumes_and_reuses_nothing_stale(gd_run, tmp_path, monkeypatch, capsys):
    """Killed in unlearning epoch 3: the rerun resumes from epoch 2's checkpoint, ignores (and then removes) a
    checkpoint of another identity, and ends with the uninterrupted run's metrics and cost."""
    from clear_bench.baselines import get_method

    out = tmp_path / "gd"
    gd = get_method("gd")

    def killed(self, model, ctx, steps_done):
        if steps_done == 2 * ctx.steps_per_epoch + 1:
            raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(gd, "on_step", killed)
        assert clear_eval_main(EVAL + ["--out", str(out)]) == 130
    assert runs.read_marker(out) is not None and len(list(out.glob(".checkpoint-*"))) == 1
    stale = out / ".checkpoint-0123456789abcdef"  # as a run of another identity would have left it
    shutil.copytree(next(out.glob(".checkpoint-*")), stale)
    (stale / "progress.json").write_text(json.dumps({"step": 10**6, "epoch": 99, "losses": []}))
    capsys.readouterr()
    assert clear_eval_main(EVAL + ["--out", str(out)]) == 0
    assert _metrics(out) == _metrics(gd_run)
    assert json.loads((out / "unlearn.json").read_text())["losses"] == \
        json.loads((gd_run / "unlearn.json").read_text())["losses"]
    assert not list(out.glob(".checkpoint-*"))
    # cause 6: the clock continued from the checkpoint (before the fix: only epoch 3 was counted, ~1/3)
    assert 0.6 <= _cpu(out) / _cpu(gd_run) <= 1.67, (_cpu(out), _cpu(gd_run))


@pytest.mark.slow
def test_killed_during_evaluation_resumes_with_the_whole_cost(gd_run, tmp_path, monkeypatch, capsys):
    """Killed while scoring the unlearned model: the rerun skips unlearning (checkpoint after the last epoch)
    and still reports the whole unlearning cost (before the fix: ~0, the leaderboard ranked it first)."""
    from clear_bench.eval import logs

    out = tmp_path / "gd"
    real = logs.write_task

    def killed(run_dir, name, records):
        if Path(run_dir).parent == out:
            raise KeyboardInterrupt
        return real(run_dir, name, records)

    with monkeypatch.context() as m:
        m.setattr(logs, "write_task", killed)
        assert clear_eval_main(EVAL + ["--out", str(out)]) == 130
    assert clear_eval_main(EVAL + ["--out", str(out)]) == 0
    assert _metrics(out) == _metrics(gd_run)
    assert 0.6 <= _cpu(out) / _cpu(gd_run) <= 1.67, (_cpu(out), _cpu(gd_run))


def test_markers_of_another_tool_kind_or_edited_are_not_ours(tmp_path, capsys):
    ident = {"method": "gd", "seed": 1}
    cases = {
        "other-tool": {"tool": "other", "schema": 1, "kind": runs.CLEAR_EVAL, "identity": ident,
                       "identity_hash": runs.identity_hash(ident)},
        "edited": {"tool": "clear-bench", "schema": 1, "kind": runs.CLEAR_EVAL, "identity": {**ident, "seed": 2},
                   "identity_hash": runs.identity_hash(ident)},
        "not-json": None,
    }
    for name, marker in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / runs.MARKER).write_text("{oops" if marker is None else json.dumps(marker))
        with pytest.raises(ClearBenchError, match=r"is not a clear-bench run marker \(tool clear-bench, schema 1\), or it was edited"):
            runs.claim(folder, runs.CLEAR_EVAL, ident)
    runs.claim(tmp_path / "mine", runs.EVALUATION, ident).start()
    with pytest.raises(ClearBenchError, match="holds a clear-bench evaluation, not a clear-eval run"):
        runs.claim(tmp_path / "mine", runs.CLEAR_EVAL, ident)
    assert runs.claim(tmp_path / "mine", runs.EVALUATION, ident).resumed
    # a folder holding nothing but a marker (a run stopped before its first output) mixes nothing: re-claimed
    other = {"method": "npo", "seed": 1}
    runs.claim(tmp_path / "mine", runs.EVALUATION, other).start()
    assert runs.read_marker(tmp_path / "mine")["identity"] == other
    (tmp_path / "mine" / "run.json").write_text("{}")
    with pytest.raises(ClearBenchError, match=r"holds another run \(method: \"npo\" -> \"gd\"\)"):
        runs.claim(tmp_path / "mine", runs.EVALUATION, ident)


# ================================================================ cause 2: user files are never overwritten

def test_clear_eval_leaves_a_folder_of_user_files_alone(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "results.md").write_text("my results")
    (out / "summary.json").write_text('{"mine": true}')
    refused(clear_eval_main, ["--preset", "demo", "--method", "gd", "--out", str(out)], capsys, out,
            r"already holds files that clear-bench did not write \(no \.clear-run\.json\).*fresh --out")


def test_evaluate_leaves_a_folder_of_user_files_alone(tmp_path, demo_root, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "summary.json").write_text('{"mine": true}')
    model = tmp_path / "model"
    model.mkdir()
    refused(main, ["evaluate", "--model", str(model), "--data", str(demo_root), "--out", str(out)], capsys, out,
            r"already holds files that clear-bench did not write")


@pytest.mark.parametrize("command", ["generate", "finetune"])
def test_a_file_named_like_our_manifest_does_not_make_a_folder_ours(command, tmp_path, demo_root, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    manifest = "manifest.json" if command == "generate" else "clear_manifest.json"
    (out / manifest).write_text('{"my": "project"}')
    (out / "thesis.tex").write_text("years of work")
    before = snapshot(out)
    if command == "generate":
        assert clear_generate_main(["--preset", "demo", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert "is not a clear-bench manifest" in err and "Traceback" not in err
    else:
        refused(main, ["finetune", "--preset", "demo", "--data", str(demo_root), "--split", "retain90", "--epochs",
                       "1", "--out", str(out)], capsys, out,
                r"clear_manifest\.json there is not a clear-bench manifest")
    assert snapshot(out) == before


def test_leaderboard_leaves_a_folder_of_user_files_alone(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    refused(main, ["leaderboard", "--out", str(out)], capsys, out, r"already holds files that clear-bench did not")


def test_report_leaves_a_user_summary_alone(tmp_path, capsys):
    run = tmp_path / "run"
    synthetic_run(run)
    (run / "summary.json").write_text('{"mine": true}')
    before = snapshot(run)
    assert main(["report", str(run)]) == 0
    assert snapshot(run) == before and "Traceback" not in capsys.readouterr().err


# ================================================================ cause 3: one error boundary

def _plugin(tmp_path, monkeypatch, name: str, body: str) -> str:
    (tmp_path / f"{name}.py").write_text(body)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    return f"{name}:Method"


@pytest.mark.parametrize("name, body, pattern", [
    ("plug_raises", "raise RuntimeError('no GPU here')\n",
     r"importing the method's module failed at .*plug_raises\.py, line 1: RuntimeError: no GPU here"),
    ("plug_syntax", "def broken(:\n", r"plug_syntax\.py, line 1: syntax error"),
    ("plug_noloss", "from clear_bench.baselines import UnlearningMethod\n"
                    "class Method(UnlearningMethod):\n    name = 'noloss'\n",
     r"method 'plug_noloss:Method' \(plug_noloss\.Method\) defines no loss"),
])
def test_a_broken_plugin_is_one_line_before_any_work(name, body, pattern, tmp_path, monkeypatch, capsys):
    method = _plugin(tmp_path, monkeypatch, name, body)
    out = tmp_path / "run"
    refused(clear_eval_main, ["--preset", "demo", "--method", method, "--out", str(out)], capsys, out, pattern)
    assert not out.exists()


@pytest.mark.slow
def test_a_plugin_whose_loss_raises_is_one_line(demo_models, tmp_path, monkeypatch, capsys):
    method = _plugin(tmp_path, monkeypatch, "plug_loss", "from clear_bench.baselines import UnlearningMethod\n"
                     "class Method(UnlearningMethod):\n    name = 'bad'\n"
                     "    def loss(self, model, batch, ctx):\n        raise ValueError('shapes do not match')\n")
    out = tmp_path / "run"
    refused(clear_eval_main, EVAL + ["--method", method, "--out", str(out)], capsys, out,
            r"the unlearning method's own code raised at .*plug_loss\.py, line 5: ValueError: shapes do not match")
    assert not out.exists()


@pytest.fixture()
def saved_tiny(tiny_vlm, tmp_path):
    from clear_bench.models.tiny import save_tiny_vlm

    model, processor = tiny_vlm
    save_tiny_vlm(model, processor, tmp_path / "model")
    return tmp_path / "model"


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_corrupt_weights_file_is_one_line(damage, saved_tiny, tmp_path, demo_root, capsys):
    weights = saved_tiny / "model.safetensors"
    if damage == "truncated":
        with open(weights, "r+b") as f:
            f.truncate(weights.stat().st_size // 2)
    else:
        weights.write_bytes(b"not a safetensors file")
    out = tmp_path / "ev"
    refused(main, ["evaluate", "--model", str(saved_tiny), "--data", str(demo_root), "--out", str(out)], capsys,
            out, r"model\.safetensors cannot be read .*corrupt or truncated")
    assert not out.exists()


def test_an_image_that_fails_during_evaluation_is_one_line(saved_tiny, demo_root, tmp_path, capsys):
    root = tmp_path / "data"
    shutil.copytree(demo_root, root)
    _set_cell(root, "clear", "forget10_perturbed", "image", 0, {"bytes": b"", "path": None})
    out = tmp_path / "ev"
    refused(main, ["evaluate", "--model", str(saved_tiny), "--data", str(root), "--tasks", "forget_captions",
                   "--cap", "2", "--max-new-tokens", "2", "--out", str(out)], capsys, out,
            r"CLEAR config 'forget10_perturbed' row 0: image cannot be decoded \(0 bytes and no path\)")
    assert not out.exists()


@pytest.fixture()
def record(tmp_path):
    from clear_bench.leaderboard.records import make_record, write_record

    r = make_record(method="gd", modality="both", forget=10, seed=1, config={"preset": "demo"}, data={}, model={},
                    versions={}, metrics={"forget_metric": {"value": 0.2, "direction": "↓"}})
    return write_record(tmp_path / "rec.json", r)


def test_an_output_the_os_refuses_late_is_one_line(record, tmp_path, monkeypatch, capsys):
    import clear_bench.leaderboard.build as build

    def refuse(path, text):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(build, "atomic_write_text", refuse)
    out = tmp_path / "board"
    refused(main, ["leaderboard", str(record), "--no-baselines", "--out", str(out)], capsys, out,
            r"Permission denied: .*leaderboard\.md: no permission")
    assert not out.exists()  # the folder made for it held nothing but the marker: removed


def test_an_unexpected_failure_is_an_internal_error_with_a_log(record, tmp_path, monkeypatch, capsys):
    import clear_bench.leaderboard.build as build

    def bug(*a, **k):
        return 1 / 0

    monkeypatch.setattr(build, "build", bug)
    out = tmp_path / "board"
    line = refused(main, ["leaderboard", str(record), "--out", str(out)], capsys, out,
                   r"^internal error: ZeroDivisionError: division by zero \(traceback in .*\.log; -v prints it\)",
                   code=1)
    log = Path(line.split("traceback in ")[1].split(";")[0])
    assert "Traceback" in log.read_text() and "ZeroDivisionError" in log.read_text()
    assert not out.exists()
    assert main(["-v", "leaderboard", str(record), "--out", str(out)]) == 1
    assert "Traceback" in capsys.readouterr().err  # -v prints it


@pytest.mark.slow
def test_disk_full_while_saving_a_checkpoint_leaves_no_run_folder(demo_models, tmp_path, monkeypatch, capsys):
    import clear_bench.training.loop as loop

    def full(accelerator, folder, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(folder))

    monkeypatch.setattr(loop, "_save_checkpoint", full)
    out = tmp_path / "gd"
    refused(clear_eval_main, EVAL + ["--out", str(out)], capsys, out,
            r"disk full at .*\.checkpoint-.*: free some space")
    assert not out.exists()


# ================================================================ cause 4: bad numbers fail before any work

@pytest.mark.parametrize("argv, pattern", [
    (["--l1-lambda", "-0.1"], r"--l1-lambda must be >= 0 \(got -0\.1\)"),
    (["--l1-lambda", "inf"], r"--l1-lambda must be a finite number"),
    (["--lr", "nan"], r"--lr must be a finite number"),
    (["--epochs", "inf"], r"--epochs must be a finite number"),
    (["--seed", "-1"], r"--seed must be in \[0, 2\*\*32\)"),
    (["--seed", str(2**40)], r"--seed must be in \[0, 2\*\*32\)"),
    (["--lora-r", "-1"], r"--lora-r must be >= 0"),
])
def test_clear_eval_refuses_bad_numbers(argv, pattern, tmp_path, capsys):
    out = tmp_path / "run"
    refused(clear_eval_main, ["--preset", "demo", *argv, "--out", str(out)], capsys, out, pattern)


@pytest.mark.parametrize("argv, pattern", [
    (["--cap", "-1"], r"--cap must be >= 0"), (["--batch-size", "0"], r"--batch-size must be >= 1"),
    (["--max-new-tokens", "-1"], r"--max-new-tokens must be >= 0"),
])
def test_evaluate_refuses_bad_numbers(argv, pattern, tmp_path, demo_root, capsys):
    out = tmp_path / "ev"
    refused(main, ["evaluate", "--model", str(tmp_path), "--data", str(demo_root), *argv, "--out", str(out)],
            capsys, out, pattern)


@pytest.mark.parametrize("argv, pattern", [
    (["--lr", "inf"], r"--lr must be a finite number"), (["--epochs", "nan"], r"--epochs must be a finite"),
    (["--lora-alpha", "0"], r"--lora-alpha must be > 0"),
])
def test_finetune_refuses_bad_numbers(argv, pattern, tmp_path, demo_root, capsys):
    out = tmp_path / "model"
    refused(main, ["finetune", "--preset", "demo", "--data", str(demo_root), *argv, "--out", str(out)], capsys,
            out, pattern)


@pytest.mark.parametrize("argv, pattern", [
    (["--authors", "0"], r"--authors must be >= 1"), (["--image-size", "2"], r"--image-size must be >= 8"),
    (["--seed", "-3"], r"--seed must be in"),
])
def test_clear_generate_refuses_bad_numbers(argv, pattern, tmp_path, capsys):
    out = tmp_path / "data"
    refused(clear_generate_main, ["--preset", "demo", *argv, "--out", str(out)], capsys, out, pattern)


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_records_with_a_non_finite_metric_are_refused(value, record, tmp_path, capsys):
    from clear_bench.leaderboard.records import record_hash

    data = json.loads(record.read_text())
    data["metrics"]["forget_metric"]["value"] = value
    data["record_hash"] = record_hash(data)  # a consistent record: only the value is wrong
    record.write_text(json.dumps(data))
    out = tmp_path / "board"
    refused(main, ["leaderboard", str(record), "--no-baselines", "--out", str(out)], capsys, out,
            r"metric 'forget_metric' has a non-finite value")
    assert not out.exists()
    from clear_bench.leaderboard.records import make_record

    with pytest.raises(ClearBenchError, match="non-finite"):  # and a writer cannot make one
        from clear_bench.leaderboard.records import write_record

        write_record(tmp_path / "r.json", make_record(method="gd", modality="both", forget=10, seed=1, config={},
                                                      data={}, model={}, versions={},
                                                      metrics={"m": {"value": value}}))


# ================================================================ cause 5: validate reads what training reads

@pytest.fixture()
def data_copy(demo_root, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(demo_root, root)
    return root


def _set_cell(root, dataset, config, column, row, value=None, invalid_utf8=False):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = next((root / dataset / config).glob("*.parquet"))
    table = pq.read_table(path)
    cells = table.column(column).to_pylist()
    if invalid_utf8:
        raw = [c.encode() for c in cells]
        raw[row] = b"\xff\xfe" + raw[row]
        binary = pa.array(raw, type=pa.binary())
        array = pa.Array.from_buffers(pa.string(), len(binary), binary.buffers())  # not validated: as found
    else:
        cells[row] = value
        array = pa.array(cells, type=table.schema.field(column).type)
    table = table.set_column(table.schema.get_field_index(column), column, array)
    pq.write_table(table, path)


def test_validate_reports_every_problem_of_every_config(data_copy, capsys):
    png = next((data_copy / "clear" / "retain_perturbed").glob("*.parquet"))
    import pyarrow.parquet as pq

    img = pq.read_table(png).column("image").to_pylist()[1]
    _set_cell(data_copy, "clear", "retain90+tofu", "image", 0, {"bytes": b"", "path": None})  # zero bytes
    _set_cell(data_copy, "clear", "retain_perturbed", "image", 1, {"bytes": img["bytes"][:40], "path": None})
    _set_cell(data_copy, "clear", "retain_perturbed", "perturbed_names", 2, [])  # a row rule, twice
    _set_cell(data_copy, "clear", "retain_perturbed", "perturbed_names", 3, [])
    _set_cell(data_copy, "tofu", "forget10", "question", 0, invalid_utf8=True)
    assert main(["validate", "--data", str(data_copy)]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    out = captured.out
    assert "retain90+tofu row 0, column 'image': image cannot be decoded" in out
    assert "retain_perturbed row 1, column 'image': image cannot be decoded" in out
    assert "config 'retain_perturbed': row 2 has an empty 'perturbed_names' list" in out
    assert "config 'retain_perturbed': row 3 has an empty 'perturbed_names' list" in out
    assert "forget10 row 0, column 'question': cannot be read (not valid UTF-8)" in out
    assert "5 problems in 3 configs" in out


def test_validate_passes_the_demo_data(demo_root, capsys):
    assert main(["validate", "--data", str(demo_root)]) == 0
    assert "ready to run" in capsys.readouterr().out


# ================================================================ cause 6: the cost clock survives a resume

def test_the_clock_continues_from_its_saved_state():
    import time

    from clear_bench.efficiency import measure

    with measure() as first:
        time.sleep(0.05)
        saved = first.state_dict()
    with measure() as resumed:
        time.sleep(0.2)  # loading and set-up of the resumed process: not counted again
        resumed.load_state_dict(saved)
        time.sleep(0.05)
    assert saved["wall_s"] >= 0.05 and 0.1 <= resumed.cost.wall_s < 0.2
    assert resumed.cost.cpu_s >= saved["cpu_s"]


# ================================================================ cause 7: report keeps what it cannot recompute

def test_report_without_gold_keeps_the_gold_based_metrics(tmp_path, capsys, caplog):
    run, gold = tmp_path / "run", tmp_path / "gold"
    synthetic_run(run, forget_nll=2.0)
    synthetic_run(gold, forget_nll=1.5, seed=1)
    assert main(["report", str(run), "--gold", str(gold)]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["metrics"]["forget_captions/forget_quality_ks"]["value"] is not None
    before = snapshot(run)
    for argv in (["report", str(run)], ["report", str(run), "--metrics", "prob"]):
        caplog.clear()
        assert main(argv) == 0
        assert "Traceback" not in capsys.readouterr().err and "kept" in caplog.text and "--gold" in caplog.text
        assert snapshot(run) == before
    assert main(["report", str(run), "--gold", str(gold)]) == 0  # with the gold run it may refresh them
    assert json.loads((run / "summary.json").read_text())["metrics"] == summary["metrics"]


# ================================================================ cause 8: remote code

@pytest.fixture()
def remote_model(tmp_path):
    model = tmp_path / "remote"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"model_type": "mycustom", "auto_map": {
        "AutoConfig": "cfg.MyConfig", "AutoModelForImageTextToText": "cfg.MyModel"}}))
    (model / "model.safetensors").write_bytes(b"x")
    (model / "cfg.py").write_text("raise SystemExit('remote code ran')\n")
    return model


def test_remote_code_is_refused_without_the_flag(remote_model, tmp_path, demo_root, capsys):
    out = tmp_path / "ev"
    refused(main, ["evaluate", "--model", str(remote_model), "--data", str(demo_root), "--out", str(out)], capsys,
            out, r"remote ships code of its own .*--trust-remote-code \(off by default\)")
    assert not out.exists()
    out = tmp_path / "run"
    refused(clear_eval_main, ["--preset", "demo", "--model", str(remote_model), "--cap", "2", "--out", str(out)],
            capsys, out, r"remote ships code of its own .*--trust-remote-code")
    assert not out.exists()


def test_clear_eval_has_the_flag(capsys):
    with pytest.raises(SystemExit):
        clear_eval_main(["--help"])
    assert "--trust-remote-code" in capsys.readouterr().out


# ================================================================ reproducible numbers (issue 13.7)

@pytest.mark.slow
def test_records_name_the_weights_and_the_machine(gd_run, demo_models):
    from clear_bench.utils import weights_checksum

    manifest = json.loads((demo_models["target"] / "clear_manifest.json").read_text())
    assert manifest["tool"] == "clear-bench"
    assert manifest["weights_sha256"] == weights_checksum(demo_models["target"])
    record = json.loads((gd_run / "submission.json").read_text())
    assert record["model"]["target"].endswith(manifest["weights_sha256"][:16])
    hw = record["hardware"]
    assert hw["cpu"] and hw["cpu_threads"] >= 1 and "gpu" in hw
    summary = json.loads((gd_run / "eval" / "summary.json").read_text())
    assert summary["config"]["hardware"]["cpu_threads"] == hw["cpu_threads"]


def test_spread_over_seeds():
    from clear_bench.repeat import spread, spread_markdown

    def summary(v, w):
        return {"metrics": {"m": {"value": v, "direction": "↑"}, "w": {"value": w, "direction": "↓"}}}

    table = spread([summary(0.2, None), summary(0.4, 1.0), summary(0.6, None)])
    assert table["m"]["mean"] == pytest.approx(0.4) and table["m"]["sd"] == pytest.approx(0.2)
    assert table["w"] == {"mean": 1.0, "sd": None, "ci95": None, "n": 1, "direction": "↓"}
    # 95 % t-interval: 0.4 ± t(0.975, 2) * 0.2 / sqrt(3) = 0.4 ± 0.4968
    assert "| m | ↑ | 0.4000 ± 0.2000 | [-0.0968, 0.8968] | 3 |" in spread_markdown(table, [1, 2, 3])


@pytest.mark.slow
def test_clear_eval_seeds_reports_mean_and_sd(demo_models, tmp_path, capsys):
    out = tmp_path / "group"
    argv = ["--preset", "demo", "--method", "gd", "--cap", "2", "--epochs", "1", "--seeds", "2", "--out", str(out)]
    assert clear_eval_main(argv) == 0
    result = json.loads((out / "seeds.json").read_text())
    assert result["seeds"] == [42, 43] and (out / "seed-42" / "submission.json").exists()
    entry = result["spread"]["forget_metric"]
    assert entry["n"] == 2 and entry["sd"] is not None and entry["sd"] >= 0
    assert "± " in (out / "seeds.md").read_text()
    before = snapshot(out)
    assert clear_eval_main(argv[:-2] + ["--seed", "1", "--out", str(out)]) == 2  # another group: refused
    one_line(capsys)
    assert snapshot(out) == before
