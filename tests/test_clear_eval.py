"""`clear-eval --preset demo` end to end: fine-tune (cached), unlearn, evaluate, results, record."""
import json

import pytest

from clear_bench.cli import clear_eval_main
from clear_bench.leaderboard.records import load_record

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gd_run(demo_models, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "gd"
    assert clear_eval_main(["--preset", "demo", "--method", "gd", "--modality", "both", "--out", str(out)]) == 0
    return out


def test_demo_run_writes_everything_and_forgets(gd_run):
    for name in ("results.md", "results.png", "submission.json", "unlearn.json", "eval/summary.json"):
        assert (gd_run / name).exists(), name
    summary = json.loads((gd_run / "eval" / "summary.json").read_text())
    m = summary["metrics"]
    assert m["forget_metric"]["direction"] == "↓" and m["retain_metric"]["direction"] == "↑"
    record = load_record(gd_run / "submission.json")
    assert record["method"] == "gd" and record["metrics"]["forget_metric"]["value"] == m["forget_metric"]["value"]
    table = (gd_run / "results.md").read_text()
    assert "target (before)" in table and "gd (after)" in table and "gold (retain only)" in table


def test_demo_run_forgets_more_than_it_loses(gd_run):
    from clear_bench.presets import cache_dir

    after = json.loads((gd_run / "eval" / "summary.json").read_text())["metrics"]
    target_runs = sorted((cache_dir() / "evals").glob("target-*"))
    before = json.loads((target_runs[0] / "summary.json").read_text())["metrics"]
    def drop(task):
        return before[f"{task}/prob"]["value"] - after[f"{task}/prob"]["value"]

    forget_drop = sum(drop(t) for t in ("forget_captions", "forget_facerec", "tofu_forget")) / 3
    retain_drop = sum(drop(t) for t in ("retain_captions", "retain_facerec", "tofu_retain")) / 3
    # measured on the demo (answer probability): forget 0.34-0.46 lower, retain 0.07-0.16 lower with the retain
    # row drawn once per run; with retain rows redrawn every epoch (the reference's), one thread: forget 0.41,
    # retain 0.29 lower. Gradient difference forgets, with collateral damage the paper's Table 1 shows too.
    assert forget_drop >= 0.2, forget_drop
    assert forget_drop >= 1.2 * retain_drop, (forget_drop, retain_drop)
    assert after["real_faces/rouge_l"]["value"] >= 0.5  # prior knowledge mostly survives


def test_demo_run_reports_its_cost_against_retraining(gd_run, tmp_path):
    from clear_bench.leaderboard.build import build

    entry = json.loads((gd_run / "eval" / "summary.json").read_text())["metrics"]["unlearn_cost_fraction"]
    assert 0 < entry["value"] < 1 and entry["direction"] == "↓" and entry["higher_is_better"] is False
    record = load_record(gd_run / "submission.json")
    eff = record["efficiency"]
    assert eff["unlearn_cost_fraction"] == record["metrics"]["unlearn_cost_fraction"]["value"] == entry["value"]
    assert eff["unlearn_cost_basis"] in ("cpu", "gpu") and eff["unlearn_cpu_s"] > 0 and eff["retrain_cpu_s"] > 0
    assert json.loads((gd_run / "unlearn.json").read_text())["cost"]["unlearn_cost_fraction"] == entry["value"]
    assert "| unlearn_cost_fraction | ↓ |" in (gd_run / "results.md").read_text()
    board = build([gd_run / "submission.json"], tmp_path / "board", include_baselines=False)
    assert f"{entry['value']:.3f}" in board["markdown"].read_text()


def test_the_demo_target_passes_the_memorisation_gate_with_its_margin(gd_run):
    """Issue 24.1: the demo target answers every forget item (ROUGE-L recall >= 0.75), the gold model none
    (measured: gold's best forget caption ROUGE-L 0.67, TOFU answer 0.50, name 0.00): the margin is recorded."""
    memo = load_record(gd_run / "submission.json")["memorisation"]
    assert memo["passed"] and not memo["allowed"]
    assert set(memo["tasks"]) == {"forget_captions", "forget_facerec", "tofu_forget"}
    for task in memo["tasks"].values():
        assert task["target"] >= 0.9 and task["margin"] >= 0.5, task
    run_json = json.loads((gd_run / "eval" / "run.json").read_text())
    assert run_json["memorisation"] == memo


def test_a_target_that_never_saw_the_forget_set_is_stopped_in_one_line(demo_models, monkeypatch, capsys,
                                                                         tmp_path):
    """Issue 24.1: the gold model (never trained on the forget set) standing in as the target: the gate stops
    the run after evaluating it, before unlearning, unless --allow-unmemorised."""
    import clear_bench.job as job

    finetune = job._finetune
    monkeypatch.setattr(job, "_finetune", lambda j, split: finetune(j, j.names["retain"]))
    out = tmp_path / "unmemorised"
    argv = ["--preset", "demo", "--method", "gd", "--epochs", "1", "--out", str(out)]
    assert clear_eval_main(argv) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith(("error", "internal"))]
    assert len(errors) == 1 and "did not memorise the forget set" in errors[0], errors
    assert "forget_facerec target 0.00, gold 0.00, margin +0.00" in errors[0] and "--allow-unmemorised" in errors[0]
    assert not out.exists()  # stopped before anything was written
    assert clear_eval_main(argv + ["--allow-unmemorised"]) == 0
    memo = load_record(out / "submission.json")["memorisation"]
    assert not memo["passed"] and memo["allowed"] and memo["tasks"]["forget_facerec"]["margin"] == 0


def test_bad_input_is_one_line(capsys, tmp_path):
    assert clear_eval_main(["--preset", "demo", "--method", "npoo", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown method 'npoo'" in err and "Did you mean 'npo'" in err
    assert clear_eval_main(["--preset", "demo", "--modality", "audio", "--out", str(tmp_path / "x")]) == 2
    assert "unknown modality 'audio'" in capsys.readouterr().err
    assert clear_eval_main(["--preset", "demo", "--forget", "20", "--out", str(tmp_path / "x")]) == 2
    assert "forget size 20" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_paper_preset_without_network_stops_at_once(capsys, tmp_path, monkeypatch):
    import time

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t = time.time()
    assert clear_eval_main(["--method", "npo", "--out", str(tmp_path / "y")]) == 2
    err = capsys.readouterr().err
    assert "--preset demo" in err and "--data CLEAR_DIR --tofu TOFU_DIR" in err
    assert time.time() - t < 30
