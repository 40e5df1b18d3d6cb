"""`evaluate` end to end on the demo data with a random tiny model: logs, summary, resume, report, CLI."""
from __future__ import annotations

import json
import shutil

import pytest

from clear_bench.errors import ClearBenchError
from clear_bench.cli import evaluate_main, report_main
from clear_bench.commands import evaluate as evaluate_cmd
from clear_bench.eval import logs
from clear_bench.eval import run as run_mod
from clear_bench.eval.config import EvalConfig
from clear_bench.eval.metrics import list_metrics
from clear_bench.eval.run import evaluate
from clear_bench.eval.tasks import TASKS

SMALL = dict(authors=10, images_per_author=2, holdout_authors=2, image_size=16)
CAP, TOKENS = 3, 8


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Tiny matrices on a shared 2-core machine: extra threads only wait on each other (7x slower measured).
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from clear_bench.data.sources import DataSource
    from clear_bench.generation import build_demo

    root = build_demo(tmp_path_factory.mktemp("demo") / "data", seed=0, **SMALL)
    return root, DataSource.from_path(root)


@pytest.fixture(scope="module")
def tiny(demo):
    from clear_bench.models.tiny import build_tiny_vlm

    _, source = demo
    corpus = list(source.load("clear", "full")["caption"]) + list(source.load("tofu", "full")["answer"])
    model, processor = build_tiny_vlm(corpus, vocab_size=400, hidden=64, layers=2)
    return model.eval(), processor


@pytest.fixture(scope="module")
def run(demo, tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "tiny"
    summary = evaluate(*tiny, demo[1], out, EvalConfig(cap=CAP, max_new_tokens=TOKENS), batch_size=4, progress=False,
                       run_info={"seed": 7})
    return out, summary


def test_every_task_is_logged_and_summarised(run, demo):
    from clear_bench.eval.tasks import wrong_answers

    out, summary = run
    assert logs.list_tasks(out) == sorted(TASKS)  # the demo data has TOFU and holdout configs too
    for task in TASKS:
        records = logs.read_task(out, task)
        assert 0 < len(records) <= CAP
        for r in records:
            assert r.generation is not None and r.rouge_l is not None and len(r.token_logprobs) == r.answer_tokens
            assert r.perturbed_nll and (r.paraphrase_nll is None) == (TASKS[task].paraphrase is None)
    # options tasks: each distractor scored once; caption tasks: the 5 perturbed captions
    row = demo[1].load("clear", "real_world")[0]
    assert len(logs.read_task(out, "real_world")[0].perturbed_nll) == len(wrong_answers(row["answer"], row["options"]))
    assert all(len(r.perturbed_nll) == 5 for r in logs.read_task(out, "forget_captions"))

    on_disk = json.loads((out / "summary.json").read_text())
    assert (out / "summary.md").is_file()
    names = {e["metric"] for e in on_disk["metrics"].values()} | set(on_disk["skipped"])
    assert names == set(list_metrics())
    for key, e in on_disk["metrics"].items():
        assert e["direction"] in ("↑", "↓", "·") or e["direction"].startswith("→"), key
        assert "higher_is_better" in e
    assert on_disk["metrics"]["retain_captions/prob"]["direction"] == "↑"
    assert on_disk["metrics"]["forget_captions/prob"]["direction"] == "↓"
    from clear_bench.eval.metrics import get_metric

    assert set(on_disk["skipped"]) == {n for n in list_metrics() if "gold" in get_metric(n).needs}  # all need --gold
    assert {"forget_quality_ks", "forget_quality_js_ref", "log_forget_quality", "privleak_loss"} <= set(
        on_disk["skipped"])

    info = logs.read_run_info(out)
    assert info["seed"] == 7 and info["cap"] == CAP and info["forget"] == 10 and info["scoring"] == "shared_prefix"
    assert set(info["task_seconds"]) == set(TASKS) and "torch" in info["library_versions"]
    assert summary["metrics"] == on_disk["metrics"]


def test_rerun_recomputes_only_missing_tasks(run, demo, tiny, monkeypatch):
    out, _ = run
    (out / "real_faces.jsonl").unlink()
    before = {t: logs.task_path(out, t).stat().st_mtime_ns for t in TASKS if t != "real_faces"}
    done = []
    real = run_mod.evaluate_task
    monkeypatch.setattr(run_mod, "evaluate_task", lambda model, proc, task, *a, **k: done.append(task.name)
                        or real(model, proc, task, *a, **k))
    evaluate(*tiny, demo[1], out, EvalConfig(cap=CAP, max_new_tokens=TOKENS), batch_size=4, progress=False,
             run_info={"seed": 7})
    assert done == ["real_faces"] and logs.task_done(out, "real_faces")
    assert before == {t: logs.task_path(out, t).stat().st_mtime_ns for t in before}
    # resuming with settings that would mix two runs is refused, before any work
    with pytest.raises(ClearBenchError, match="cap=3"):
        evaluate(*tiny, demo[1], out, EvalConfig(cap=2, max_new_tokens=TOKENS), progress=False)
    assert done == ["real_faces"]


def test_report_recomputes_the_summary_from_the_logs_alone(run, tmp_path, capsys):
    out, _ = run
    expected = json.loads((out / "summary.json").read_text())["metrics"]
    copy = tmp_path / "copy"
    copy.mkdir()
    for p in out.glob("*.jsonl"):
        shutil.copy(p, copy / p.name)
    assert report_main([str(copy)]) == 0
    again = json.loads((copy / "summary.json").read_text())["metrics"]
    assert again.keys() == expected.keys()
    for key, e in expected.items():
        assert again[key]["value"] == pytest.approx(e["value"], rel=1e-12, nan_ok=True), key
    assert "| forget_captions |" in capsys.readouterr().out


def test_naive_scoring_gives_the_same_records(run, demo, tiny, tmp_path):
    out, _ = run
    tasks = ["forget_captions", "real_world", "tofu_retain"]  # paraphrase + image, options, text only
    summary = evaluate(*tiny, demo[1], tmp_path / "naive", EvalConfig(cap=CAP, max_new_tokens=TOKENS), tasks=tasks,
                       batch_size=4, shared_prefix=False, gold_dir=out, progress=False)
    # the shared-prefix run as "gold": same model, so forget quality is perfect
    assert summary["metrics"]["forget_captions/forget_quality_ks"]["value"] == pytest.approx(1.0)
    for task in tasks:
        for a, b in zip(logs.read_task(out, task), logs.read_task(tmp_path / "naive", task), strict=True):
            assert (a.item_id, a.answer_tokens, a.paraphrase_tokens, a.perturbed_tokens, a.generation) == (
                b.item_id, b.answer_tokens, b.paraphrase_tokens, b.perturbed_tokens, b.generation)
            assert a.answer_mean_nll == pytest.approx(b.answer_mean_nll, abs=1e-4)
            assert a.paraphrase_mean_nll == pytest.approx(b.paraphrase_mean_nll, abs=1e-4)
            assert a.perturbed_mean_nll == pytest.approx(b.perturbed_mean_nll, abs=1e-4)
            assert a.token_logprobs == pytest.approx(b.token_logprobs, abs=1e-4)
            assert a.token_mu == pytest.approx(b.token_mu, abs=1e-4)


@pytest.fixture(scope="module")
def model_dir(tiny, tmp_path_factory):
    from clear_bench.models.tiny import save_tiny_vlm

    return save_tiny_vlm(*tiny, tmp_path_factory.mktemp("model") / "tiny")


def test_evaluate_cli(model_dir, demo, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CLEAR_BENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("clear_bench.generation.demo.demo_data_dir", lambda seed=0: demo[0])
    out = tmp_path / "cli"
    assert evaluate_main(["--model", str(model_dir), "--out", str(out), "--preset", "demo", "--tasks", "real_world",
                          "--cap", "2", "--max-new-tokens", "4"]) == 0
    assert logs.list_tasks(out) == ["real_world"] and (out / "summary.json").is_file()
    assert logs.read_run_info(out)["model"] == str(model_dir)
    assert "| real_world | real | 2 |" in capsys.readouterr().out


@pytest.mark.parametrize("case, message", [
    ("missing", "does not exist"), ("no_weights", "no weights"), ("task", "unknown evaluation task 'real_word'"),
    ("forget", "forget size 3")])
def test_evaluate_cli_errors_are_one_line_and_write_nothing(case, message, model_dir, demo, tmp_path, capsys):
    model = {"missing": tmp_path / "nope" / "model", "no_weights": tmp_path / "empty"}.get(case, model_dir)
    if case == "no_weights":
        model.mkdir()
        shutil.copy(model_dir / "config.json", model / "config.json")
    argv = ["--model", str(model), "--out", str(tmp_path / "out"), "--data", str(demo[0])]
    argv += {"task": ["--tasks", "real_world,real_word"], "forget": ["--forget", "3"]}.get(case, [])
    assert evaluate_main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err
    assert not (tmp_path / "out").exists()


def test_subcommand_parsers():
    import argparse

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    evaluate_cmd.add_parser(sub)
    args = parser.parse_args(["evaluate", "--model", "m", "--out", "o", "--naive-scoring", "--tasks", "real_world"])
    assert args.func is evaluate_cmd.cmd_evaluate and args.naive_scoring and args.cap == 300 and args.forget == 10
    args = parser.parse_args(["report", "a", "b", "--gold", "g"])
    assert args.runs == ["a", "b"] and args.gold == "g" and callable(args.func)


def test_the_evaluation_settings_are_one_typed_config():
    """forget, cap and max_new_tokens are `EvalConfig`'s, declared (and checked) there once: the scorers, the preset
    and `clear-bench evaluate` take their defaults from it (issue 21.2: 300 was the default in five signatures)."""
    import argparse
    import inspect

    from clear_bench.eval.scoring import generate_answers, score_items
    from clear_bench.presets import Preset

    p = argparse.ArgumentParser()
    evaluate_cmd.add_evaluate_args(p)
    blank = EvalConfig()
    assert (p.get_default("max_new_tokens"), p.get_default("cap"), p.get_default("forget")) == \
        (blank.max_new_tokens, blank.cap, blank.forget) == (300, 300, 10)
    for fn in (generate_answers, score_items, run_mod.evaluate_task):
        assert inspect.signature(fn).parameters["max_new_tokens"].default == blank.max_new_tokens, fn
    assert Preset("p", "tiny", None, lora_r=0).max_new_tokens == blank.max_new_tokens
    assert blank.as_dict() == {"forget": 10, "cap": 300, "max_new_tokens": 300, "score_eos": False}  # as records hold it
    with pytest.raises(ClearBenchError, match=r"cap must be a positive number of items per task or None \(got 0\)"):
        EvalConfig(cap=0)
    with pytest.raises(ClearBenchError, match=r"max_new_tokens must be >= 0 \(0 = no generation\) \(got -1\)"):
        EvalConfig(max_new_tokens=-1)
