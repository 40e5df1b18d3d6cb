"""Leaderboard: validated records in, markdown + HTML + trade-off plot out, ranked by forget quality."""
import json

from clear_bench.leaderboard.build import build
from clear_bench.leaderboard.records import make_record, write_record


def _record(tmp_path, method, fq, utility, forget=0.2, retain=0.6):
    metrics = {"forget_captions/forget_quality_js": {"value": fq, "direction": "↑"},
               "model_utility": {"value": utility, "direction": "↑"},
               "forget_metric": {"value": forget, "direction": "↓"}, "retain_metric": {"value": retain, "direction": "↑"}}
    r = make_record(method=method, modality="both", forget=10, seed=0, config={"preset": "demo"}, data={}, model={},
                    versions={}, metrics=metrics, efficiency={"unlearn_cost_fraction": 0.05})
    return write_record(tmp_path / f"{method}.json", r)


def test_leaderboard_ranks_and_renders(tmp_path):
    paths = [_record(tmp_path, "gd", 0.3, 0.5), _record(tmp_path, "npo", 0.7, 0.4, forget=0.1)]
    files = build(paths, tmp_path / "board", include_baselines=False)
    md = files["markdown"].read_text()
    rows = [line for line in md.splitlines() if line.startswith("| 1 ") or line.startswith("| 2 ")]
    assert rows[0].split("|")[2].strip() == "npo" and rows[1].split("|")[2].strip() == "gd"
    assert "Forget ↓" in md and "0.050" in md
    html = files["html"].read_text()
    assert "<table>" in html and "tradeoff.png" in html
    assert files["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_shipped_baselines_are_valid_records(tmp_path):
    from clear_bench.leaderboard.build import baseline_records
    from clear_bench.leaderboard.records import load_record

    for path in baseline_records():
        record = load_record(path)
        assert record["config"]["preset"] == "demo"
        assert record["metrics"]["forget_metric"]["direction"] == "↓"


def test_record_hash_covers_every_field(tmp_path):
    path = _record(tmp_path, "gd", 0.3, 0.5)
    data = json.loads(path.read_text())
    from clear_bench.leaderboard.records import record_hash

    assert record_hash(data) == data["record_hash"]
    data["seed"] = 1
    assert record_hash(data) != data["record_hash"]
