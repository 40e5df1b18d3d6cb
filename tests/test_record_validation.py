"""Records validated on read (issue 28.6): every metric value inside its registered range, no NaN where a number
is required (the reference block included), even when the record's hash was recomputed after the edit."""
import json
import math
from pathlib import Path

import pytest

from clear_bench.errors import ClearBenchError
from clear_bench.leaderboard.records import load_record, metric_bounds, record_hash, validate_record

SHIPPED = Path(__file__).resolve().parents[1] / "clear_bench" / "resources" / "baselines"


def _edited(record: dict, edit) -> dict:
    record = json.loads(json.dumps(record))
    edit(record)
    record["record_hash"] = record_hash(record)  # a hand edit that also fixed the hash
    return record


@pytest.fixture()
def npo():
    return load_record(SHIPPED / "npo.json")


def test_every_shipped_record_is_valid():
    records = sorted(SHIPPED.rglob("*.json"))
    assert len(records) >= 30
    for path in records:
        validate_record(json.loads(path.read_text()), str(path))


def test_a_p_value_above_one_is_refused_though_its_hash_was_recomputed(npo):
    key = next(k for k in npo["metrics"] if k.endswith("/forget_quality_ks"))
    bad = _edited(npo, lambda r: r["metrics"][key].update(value=7.5))
    with pytest.raises(ClearBenchError, match=rf"metric '{key}' = 7\.5 is outside its range \[0, 1\]"):
        validate_record(bad)


def test_a_positive_log_forget_quality_is_refused(npo):
    key = next(k for k in npo["metrics"] if k.endswith("/log_forget_quality"))
    with pytest.raises(ClearBenchError, match=r"outside its range \[-inf, 0\]"):
        validate_record(_edited(npo, lambda r: r["metrics"][key].update(value=0.3)))


def test_nan_in_the_reference_block_is_refused(npo):
    key = next(iter(npo["reference"]["gold"]))
    bad = _edited(npo, lambda r: r["reference"]["gold"].update({key: math.nan}))
    with pytest.raises(ClearBenchError, match=rf"reference gold metric '{key}' has a non-finite value nan"):
        validate_record(bad)


def test_a_privleak_below_minus_100_is_refused_and_above_100_is_not(npo):
    key = next((k for k in npo["metrics"] if k.rsplit("/", 1)[-1].startswith("privleak_")), None)
    if key is None:
        pytest.skip("the shipped npo record has no PrivLeak")
    with pytest.raises(ClearBenchError, match=r"outside its range \[-100, inf\]"):
        validate_record(_edited(npo, lambda r: r["metrics"][key].update(value=-150.0)))
    validate_record(_edited(npo, lambda r: r["metrics"][key].update(value=273.7)))  # A'_u > A'_gold: unbounded


def test_visual_accuracies_are_bounded_and_unknown_metrics_are_open():
    assert metric_bounds("forget_acc", "visual") == (0.0, 1.0)
    assert metric_bounds("ulira", "visual") == (0.0, 1.0)
    assert metric_bounds("forget_captions/prob", "multimodal") == (0.0, 1.0)
    assert metric_bounds("unlearn_cost_fraction", "multimodal") == (0.0, None)
    assert metric_bounds("my_plugin_metric", "multimodal") == (None, None)
