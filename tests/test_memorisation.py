"""The memorisation gate (`eval/memorisation.py`, issue 24.1): a target that did not learn the forget set stops the
run in one line unless --allow-unmemorised; the figures go into the record. The demo runs are in
tests/test_clear_eval.py (slow)."""
import pytest

from clear_bench.errors import ClearBenchError
from clear_bench.eval import logs, memorisation
from clear_bench.eval.logs import ItemRecord

from _boards import last_column


def _write(run, task, rouges, nll=1.0):
    records = [ItemRecord(item_id=f"x:{task}:{i}", task=task, answer="Anna Stone was born in Lyon.",
                          answer_nll=nll, answer_tokens=1, generation="g" if r is not None else None, rouge_l=r)
               for i, r in enumerate(rouges)]
    logs.write_task(run, task, records)


def _runs(tmp_path, target, gold, task="forget_facerec"):
    t, g = tmp_path / "target", tmp_path / "gold"
    _write(t, task, target)
    _write(g, task, gold)
    _write(t, "retain_facerec", [0.0, 0.0])  # not a forget task: never part of the gate
    return t, g


def test_a_memorised_target_passes_with_its_margin(tmp_path):
    t, g = _runs(tmp_path, [1.0, 1.0, 0.75, 0.7], [0.0, 0.7, 0.0, 0.0])
    report = memorisation.check(memorisation.measure(t, g))
    task = report["tasks"]["forget_facerec"]
    assert report["passed"] and not report["allowed"] and list(report["tasks"]) == ["forget_facerec"]
    assert task == {"target": 0.75, "gold": 0.0, "margin": 0.75, "items": 4, "passed": True}  # 0.75 counts, 0.7 not


def test_an_unmemorised_target_stops_in_one_line_naming_the_figures(tmp_path):
    t, g = _runs(tmp_path, [0.0, 0.7, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0])
    with pytest.raises(ClearBenchError) as e:
        memorisation.check(memorisation.measure(t, g))
    line = str(e.value)
    assert "\n" not in line and "forget_facerec target 0.25, gold 0.00, margin +0.25" in line
    assert "--allow-unmemorised" in line
    report = memorisation.check(memorisation.measure(t, g), allow=True)
    assert not report["passed"] and report["allowed"]


def test_what_gold_answers_too_is_no_margin(tmp_path):
    # the target answers everything, but so does the gold model: nothing specific to forget was learned
    t, g = _runs(tmp_path, [1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 0.9, 0.8])
    with pytest.raises(ClearBenchError, match=r"target 1.00, gold 1.00, margin \+0\.00"):
        memorisation.check(memorisation.measure(t, g))


def test_items_without_generation_use_the_answer_probability(tmp_path):
    import math

    t, g = tmp_path / "target", tmp_path / "gold"
    _write(t, "tofu_forget", [None, None], nll=-math.log(0.9))  # p = 0.9: answered
    _write(g, "tofu_forget", [None, None], nll=-math.log(0.1))
    task = memorisation.measure(t, g)["tasks"]["tofu_forget"]
    assert task["target"] == 1.0 and task["gold"] == 0.0


def test_every_forget_task_counts(tmp_path):
    t, g = _runs(tmp_path, [1.0, 1.0], [0.0, 0.0])
    _write(t, "forget_captions", [0.1, 0.1])
    _write(g, "forget_captions", [0.0, 0.0])
    with pytest.raises(ClearBenchError) as e:
        memorisation.check(memorisation.measure(t, g))
    assert "forget_captions target 0.00" in str(e.value) and "forget_facerec" not in str(e.value)


def test_allow_unmemorised_is_refused_by_the_visual_track(capsys):
    from clear_bench.cli import clear_eval_main

    assert clear_eval_main(["--track", "visual", "--preset", "demo", "--allow-unmemorised"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--allow-unmemorised belongs to --track multimodal / text" in err


def test_the_record_keeps_the_margin_under_its_hash(tmp_path):
    import json

    from clear_bench.leaderboard.records import load_record, make_record, write_record

    metrics = {"forget_metric": {"value": 0.2, "direction": "↓", "higher_is_better": False}}
    memo = {"passed": True, "tasks": {"forget_facerec": {"margin": 1.0}, "forget_captions": {"margin": 0.33}}}
    path = write_record(tmp_path / "gd.json", make_record(method="gd", modality="both", forget=10, seed=0,
                                                          config={"preset": "demo"}, data={}, model={}, versions={},
                                                          metrics=metrics, memorisation=memo))
    assert load_record(path)["memorisation"] == memo
    edited = {**json.loads(path.read_text()), "memorisation": {"passed": True, "tasks": {}}}
    path.write_text(json.dumps(edited))
    with pytest.raises(ClearBenchError, match="record_hash does not match"):
        load_record(path)


def test_the_board_shows_the_margin_and_marks_an_unmemorised_target(tmp_path):
    from clear_bench.leaderboard.build import build
    from clear_bench.leaderboard.records import make_record, write_record

    metrics = {"forget_metric": {"value": 0.2, "direction": "↓", "higher_is_better": False},
               "retain_metric": {"value": 0.6, "direction": "↑", "higher_is_better": True}}
    paths = []
    for method, margins, passed in (("gd", (1.0, 0.33), True), ("npo", (0.1, 0.0), False), ("kl", None, None)):
        memo = None if margins is None else {"passed": passed, "tasks": {
            "forget_facerec": {"margin": margins[0]}, "forget_captions": {"margin": margins[1]}}}
        r = make_record(method=method, modality="both", forget=10, seed=0, config={"preset": "demo"}, data={},
                        model={}, versions={}, metrics=metrics, memorisation=memo)
        paths.append(write_record(tmp_path / f"{method}.json", r))
    files = build(paths, tmp_path / "board", include_baselines=False)
    head, cells = last_column(files["markdown"].read_text())
    assert head.rstrip(" |").endswith("| Memorised ↑")
    assert cells == {"gd": "0.330", "npo (unmemorised)": "0.000", "kl": "n/a"}
    page = files["html"].read_text()
    assert "Memorised ↑</th>" in page and 'data-v="0.33"' in page
    # a section whose records never measured it (the shipped ones, made before the gate) has no such column
    alone = build([paths[2]], tmp_path / "board2", include_baselines=False)["markdown"].read_text()
    head = next(line for line in alone.splitlines() if line.startswith("| #"))
    assert head.endswith("| Cost / retrain ↓ |") and "Memorised ↑" not in alone
