"""Unlearning cost against retraining: measured, stored in the finetune manifest, reported everywhere."""
import json

import pytest
import torch

from clear_bench.efficiency import FRACTION, Cost, cost_fraction, efficiency, measure, summary_entries



def test_measure_reads_wall_and_cpu_time():
    with measure() as m:
        x = torch.randn(200, 200)
        for _ in range(50):
            x = torch.tanh(x @ x)
    assert m.cost.wall_s > 0 and m.cost.cpu_s > 0
    assert (m.cost.gpu_s is not None) == torch.cuda.is_available()


def test_fraction_uses_the_best_clock_both_have():
    assert cost_fraction(Cost(10, 4, 2), Cost(100, 40, 8)) == (0.25, "gpu")
    assert cost_fraction(Cost(10, 4, 2), Cost(100, 40)) == (0.1, "cpu")
    assert cost_fraction(Cost(10, 4), Cost(100)) == (0.1, "wall")
    assert cost_fraction(Cost(10), Cost(0)) == (None, None)
    eff = efficiency(Cost(3, 2), Cost(30, 20))
    assert eff[FRACTION] == 0.1 and eff["unlearn_cost_basis"] == "cpu"
    assert eff["unlearn_wall_s"] == 3 and eff["retrain_cpu_s"] == 20
    assert FRACTION not in efficiency(Cost(3, 2), None)
    entry = summary_entries(eff)[FRACTION]
    assert entry["value"] == 0.1 and entry["higher_is_better"] is False and entry["direction"] == "↓"
    assert summary_entries({}) == {}


def test_finetune_manifest_records_cpu_time_and_reads_it_back(demo_models, tmp_path):
    from clear_bench.training.finetune import MANIFEST, training_cost

    manifest = json.loads((demo_models["gold"] / MANIFEST).read_text())
    assert manifest["train_cost"]["cpu_s"] > 0 and manifest["train_cost"]["wall_s"] > 0
    cost = training_cost(demo_models["gold"])
    assert cost.cpu_s == manifest["train_cost"]["cpu_s"]
    # a model fine-tuned before CPU time was recorded: wall seconds only
    old = {k: v for k, v in manifest.items() if k != "train_cost"}
    (tmp_path / MANIFEST).write_text(json.dumps(old))
    assert training_cost(tmp_path) == Cost(manifest["train_seconds"])
    assert training_cost(tmp_path / "nowhere") is None


def test_summary_report_and_leaderboard_show_the_fraction(tmp_path):
    """The fraction written into a run's run.json becomes a ↓ row of summary.md, of a comparison and of the
    leaderboard, without a model (everything is recomputed from the logs and run.json)."""
    from clear_bench.eval import logs
    from clear_bench.eval.summary import compare_summaries, summarize
    from clear_bench.leaderboard.build import TRACKS, markdown, rows
    from clear_bench.leaderboard.records import make_record
    from _eval_records import synthetic_run

    run = tmp_path / "run"
    synthetic_run(run, tasks=["forget_captions", "retain_captions"])
    info = logs.read_run_info(run)
    eff = efficiency(Cost(2.0, 1.5), Cost(40.0, 30.0))
    logs.write_run_info(run, {**info, "efficiency": eff})
    summary = summarize(run)
    entry = summary["metrics"][FRACTION]
    assert entry["value"] == pytest.approx(0.05) and entry["direction"] == "↓"
    assert f"| {FRACTION} | 0.050 ↓ |" in (run / "summary.md").read_text()
    assert f"| {FRACTION} | ↓ | 0.050 |" in compare_summaries([summary])
    record = make_record(method="gd", modality="both", forget=10, seed=42, config={"preset": "demo"}, data={},
                         model={}, versions={}, metrics=summary["metrics"], efficiency=eff)
    assert record["metrics"][FRACTION]["value"] == pytest.approx(0.05)
    board = TRACKS["multimodal"]
    assert "0.050" in markdown(rows([(record, False)], board), board, [record]).splitlines()[-1].split("|")[-2]
