import json

import pytest

from clear_bench.eval.metrics.utility import harmonic_mean
from clear_bench.cli import report_main
from clear_bench.eval.summary import compare_runs, compute_metrics, load_run, summarize
from clear_bench.eval.tasks import PAPER_TASKS
from _eval_records import synthetic_run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    for name, forget_nll, seed in (("full", 0.3, 0), ("unlearned", 2.5, 1), ("gold", 1.5, 2)):
        synthetic_run(base / name, forget_nll=forget_nll, seed=seed)
    return base


def test_summary_from_logs_alone(runs):
    s = summarize(runs / "full")
    m = s["metrics"]
    for key in ("real_metric", "retain_metric", "forget_metric", "model_utility", "retain_captions/prob",
                "forget_facerec/truth_ratio", "real_world/rouge_l", "forget_captions/mia_min_k_pp_auc"):
        assert key in m, key
    # Model utility is the harmonic mean of the reported Prob / TR / ROUGE values of the paper's four retain and
    # real tasks; model_utility_all takes every non-forget task of the run (TOFU retain QA too).
    parts = {t: [m[f"{t}/{n}"]["value"] for n in ("prob", "truth_ratio", "rouge_l")]
             for t, info in s["tasks"].items() if info["role"] in ("retain", "real")}
    paper = ("retain_captions", "retain_facerec", "real_faces", "real_world")
    assert m["model_utility"]["value"] == pytest.approx(harmonic_mean(v for t in paper for v in parts[t]))
    assert m["model_utility_all"]["value"] == pytest.approx(harmonic_mean(v for vs in parts.values() for v in vs))
    assert set(parts) > set(paper)  # (the synthetic run has TOFU retain QA: the two differ)
    assert m["forget_captions/prob"]["direction"] == "↓" and m["retain_captions/prob"]["direction"] == "↑"
    assert m["forget_captions/mia_loss_auc"]["value"] == 1.0  # forget NLL 0.3 vs holdout 1.5: memorised
    assert "needs the gold run's logs" in s["skipped"]["forget_quality_ks"]
    assert s["seed"] == 0 and s["config"]["model"] == "synthetic" and "scipy" in s["library_versions"]
    on_disk = json.loads((runs / "full" / "summary.json").read_text())
    assert on_disk["metrics"].keys() == m.keys()
    md = (runs / "full" / "summary.md").read_text()
    assert "| Model utility |" in md and "↑" in md and "↓" in md and "forget_quality_ks" in md


def test_gold_enables_forget_quality_and_privleak(runs):
    s = summarize(runs / "unlearned", runs / "gold", write=False)
    m = s["metrics"]
    assert 0.0 <= m["forget_captions/forget_quality_ks"]["value"] <= 1.0
    assert 0.0 <= m["forget_captions/forget_quality_js"]["value"] <= 1.0
    assert "forget_captions/privleak_loss" in m and "forget_quality_ks" not in s["skipped"]
    # The gold run compared with itself is perfect.
    g = summarize(runs / "gold", runs / "gold", write=False)["metrics"]
    assert g["forget_captions/forget_quality_ks"]["value"] == pytest.approx(1.0)
    assert g["forget_captions/forget_quality_js"]["value"] == pytest.approx(1.0)
    assert g["forget_captions/privleak_loss"]["value"] == pytest.approx(0.0)


def test_gold_run_of_other_items_is_refused_not_compared(runs, tmp_path):
    """A gold run evaluated with another cap (or forget size) scored other people: no forget quality from it."""
    synthetic_run(tmp_path / "gold_small", forget_nll=1.5, seed=2, n_items=4)
    s = summarize(runs / "unlearned", tmp_path / "gold_small", write=False)
    assert "forget_captions/forget_quality_ks" not in s["metrics"]
    assert "scored other items than this run's" in s["skipped"]["forget_quality_ks"]
    assert "scored other items" in s["skipped"]["privleak_loss"]


def test_missing_generations_and_tasks_are_reported_not_fatal(tmp_path):
    synthetic_run(tmp_path, tasks=PAPER_TASKS[:4], generations=False)
    values, skipped = compute_metrics(load_run(tmp_path))
    keys = {v.key for v in values}
    assert "retain_captions/prob" in keys and "real_metric" not in keys
    assert "real_faces" in skipped["real_metric_ref"] and "rouge_l" in skipped
    assert "depends on rouge_l" in skipped["real_metric"]  # the paper-text metric has ROUGE-L among its parts
    assert "depends on rouge_l" in skipped["model_utility"]


def test_compare_runs_side_by_side(runs):
    md = compare_runs([runs / "full", runs / "unlearned"], gold_dir=runs / "gold")
    header = md.splitlines()[0]
    assert "full" in header and "unlearned" in header
    prob_row = next(line for line in md.splitlines() if line.startswith("| forget_captions/prob |"))
    # Forget Prob is lower-is-better: the unlearned run (NLL 2.5 vs 0.3) is the bold one.
    assert prob_row.split("|")[4].strip().startswith("**") and not prob_row.split("|")[3].strip().startswith("**")


def test_report_main(runs, capsys):
    assert report_main([str(runs / "full"), "--metrics", "prob,model_utility"]) == 0
    out = capsys.readouterr().out
    assert "| Model utility |" in out and "mia_loss_auc" not in out
    assert report_main([str(runs / "full"), str(runs / "unlearned"), "--gold", str(runs / "gold")]) == 0
    assert "forget_captions/forget_quality_ks" in capsys.readouterr().out
    assert report_main([str(runs / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: run folder") and err.count("\n") == 1


def test_compare_bolds_closest_to_ideal_for_undirected_metrics(runs):
    md = compare_runs([runs / "full", runs / "gold"], gold_dir=runs / "gold")
    row = next(line for line in md.splitlines() if line.startswith("| forget_captions/privleak_loss |"))
    cells = [c.strip() for c in row.split("|")[3:5]]
    assert cells == ["-100.0", "**0.000**"]  # the gold run leaks exactly as much as itself


def test_with_a_gold_column_forgetting_past_gold_is_not_bold():
    """Issue 27.4: results.md bolded the lowest forget Prob, rewarding a method that forgot past the gold model;
    with the gold column named, the bold forget cell is the run closest to gold, while a retain metric keeps its
    direction."""
    from clear_bench.eval.summary import compare_summaries

    def summary(run, forget, retain):
        return {"run": run, "metrics": {
            "forget_captions/prob": {"value": forget, "direction": "↓", "higher_is_better": False, "ideal": None,
                                     "role": "forget"},
            "retain_captions/prob": {"value": retain, "direction": "↑", "higher_is_better": True, "ideal": None,
                                     "role": "retain"}}}

    runs = [summary("target", 0.90, 0.80), summary("collapsed", 0.01, 0.10), summary("good", 0.35, 0.78),
            summary("gold", 0.30, 0.82)]
    plain = compare_summaries(runs)
    assert "| forget_captions/prob | ↓ | 0.900 | **0.010** | 0.350 | 0.300 |" in plain
    table = compare_summaries(runs, gold=3)  # 0.35 is 0.05 from gold; 0.01 is 0.29 past it
    assert "| forget_captions/prob | ↓ | 0.900 | 0.010 | **0.350** | 0.300 |" in table
    assert "| retain_captions/prob | ↑ | 0.800 | 0.100 | 0.780 | **0.820** |" in table
