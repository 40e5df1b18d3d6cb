"""`clear-eval --sequence` (issue 24.4): nested forget sets unlearned one after another. Bad sequences are refused
in one line before any work (fast); the demo run is slow (it fine-tunes a gold model per forget size)."""
import json

import pytest

from clear_bench.cli import clear_eval_main


def _one_error(capsys, code):
    assert code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith(("error", "internal"))]
    assert len(errors) == 1, errors
    return errors[0]


@pytest.mark.parametrize("argv, expected", [
    (["--sequence", "5,1"], "--sequence 5,1 must increase"),
    (["--sequence", "1,1,5"], "--sequence 1,1,5 must increase"),
    (["--sequence", "1,7"], "--sequence 1,7: 7 is not a forget size (valid: 1, 5, 10"),
    (["--sequence", "10"], "--sequence needs two or more forget sizes"),
    (["--sequence", "1,five"], "--sequence must be forget sizes separated by commas"),
    (["--sequence", "1,5", "--forget", "5"], "--sequence sets the forget sizes itself; leave out --forget"),
    (["--sequence", "1,5", "--forget", "10"], "leave out --forget"),
    (["--sequence", "1,5", "--seeds", "2"], "--sequence runs one seed"),
    (["--sequence", "1,5", "--attacks", "quanto-int8"], "--sequence saves no model to attack"),
    (["--sequence", "1,5", "--track", "visual"], "--sequence belongs to --track multimodal / text"),
])
def test_a_bad_sequence_is_refused_in_one_line_before_any_work(argv, expected, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    error = _one_error(capsys, clear_eval_main(["--preset", "demo", "--method", "gd", *argv]))
    assert expected in error, error
    assert not any(tmp_path.iterdir())


def test_the_job_config_checks_its_sequence():
    from clear_bench.errors import ClearBenchError
    from clear_bench.job import JobConfig

    cfg = JobConfig(method="gd", preset="demo", sequence=[1, 5])
    assert cfg.sequence == (1, 5) and cfg.forget == 5
    with pytest.raises(ClearBenchError, match="must increase"):
        JobConfig(method="gd", preset="demo", sequence=(10, 5))


@pytest.mark.slow
def test_demo_sequence_records_every_request_and_its_plot(demo_models, tmp_path):
    from clear_bench.leaderboard.records import load_record

    out = tmp_path / "seq"
    # --cap 10 scores every item of the forget tasks (forget05: 3 images and 2 TOFU answers, forget10: 6 and 4), so
    # every forget metric below is what the uncapped run gives; retain, holdout and real tasks are cut to 10 items
    # (only the table's layout is checked on them)
    assert clear_eval_main(["--preset", "demo", "--method", "gd", "--sequence", "5,10", "--cap", "10",
                            "--out", str(out)]) == 0
    record = load_record(out / "submission.json")
    steps = record["sequence"]
    assert [(s["request"], s["forget"]) for s in steps] == [(1, 5), (2, 10)] and record["forget"] == 10
    assert record["metrics"]["forget_metric"]["value"] == steps[-1]["metrics"]["forget_metric"]
    # after request 2 the forget05 set was scored again, against its own gold model
    assert set(steps[1]["earlier"]) == {"5"} and steps[0]["earlier"] == {}
    assert steps[1]["earlier"]["5"]["forget_metric"] is not None
    for s in steps:
        folder = out / s["folder"]
        assert (folder / "eval" / "summary.json").exists() and (folder / "unlearn.json").exists()
        assert json.loads((folder / "eval" / "run.json").read_text())["forget"] == s["forget"]
    # request 2 went on from request 1's model (measured: the 5% set's forget metric 0.88 after request 1, 0.00
    # after request 2; the current set's 0.87 -> 0.00 against the target)
    assert steps[1]["earlier"]["5"]["forget_metric"] < steps[0]["metrics"]["forget_metric"]
    assert steps[1]["metrics"]["forget_metric"] < 0.5 * steps[1]["target"]["forget_metric"]
    assert (out / "request-2-forget10" / "eval-forget05" / "forget_facerec.jsonl").exists()
    assert (out / "sequence.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = (out / "sequence.md").read_text()
    assert "| target (before) | – |" in table and "| 1 | 5 |" in table and "| 2 | 10 |" in table
    assert "Forget, the 5% set" in table


def test_the_table_and_plot_follow_every_set_over_the_requests(tmp_path):
    from types import SimpleNamespace

    from clear_bench.sequence import write_sequence
    from clear_bench.tracks import get_track

    def request(k, forget, current, earlier=None):
        return {"request": k, "forget": forget, "metrics": {"forget_metric": current, "retain_metric": 0.8,
                                                             "model_utility": 0.9},
                "earlier": {s: {"forget_metric": v} for s, v in (earlier or {}).items()},
                "target": {"forget_metric": 0.9 + k / 100, "retain_metric": 0.85, "model_utility": 0.95}}

    job = SimpleNamespace(track=get_track("multimodal"), out=tmp_path, method_name="gd",
                          cfg=SimpleNamespace(sequence=(1, 5, 10), method="gd"),
                          sequence=[request(1, 1, 0.5), request(2, 5, 0.4, {"1": 0.3}),
                                    request(3, 10, 0.2, {"1": 0.1, "5": None})])
    write_sequence(job)
    rows = [line.split(" | ") for line in (tmp_path / "sequence.md").read_text().splitlines()
            if line.startswith("| ") and not line.startswith(("| request", "| ---"))]
    #        request            forget  current  the 1% set  the 5% set  retain   utility
    assert rows == [["| target (before)", "–", "0.910", "0.910", "0.920", "0.850", "0.950 |"],
                    ["| 1", "1", "0.500", "0.500", "–", "0.800", "0.900 |"],
                    ["| 2", "5", "0.400", "0.300", "0.400", "0.800", "0.900 |"],
                    ["| 3", "10", "0.200", "0.100", "–", "0.800", "0.900 |"]]
    assert (tmp_path / "sequence.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
