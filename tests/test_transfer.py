"""`clear-bench transfer` (CLEAR Table 2): rankings in each metric's own direction; a key without one is refused."""
import json

import pytest

from clear_bench.errors import ClearBenchError
from clear_bench.leaderboard.records import make_record


def _rec(method, track, key, value, entry, retain_key, retain=0.5):
    metrics = {key: {"value": value, **entry},
               retain_key: {"value": retain, "higher_is_better": True, "direction": "↑"}}
    return make_record(method=method, modality="text", forget=10, seed=0, config={"preset": "demo"}, data={},
                       model={}, versions={}, metrics=metrics, track=track)


LOWER = {"higher_is_better": False, "direction": "↓"}
NONE = {"higher_is_better": None, "direction": "·"}


def _records(mm_entry, mm_key="forget_metric_ref"):
    mm = {"ga": 0.1, "gd": 0.2, "npo": 0.3, "idk": 0.4}
    tx = {"ga": 0.15, "gd": 0.1, "npo": 0.35, "idk": 0.3}
    out = [(f"mm/{m}", _rec(m, "multimodal", mm_key, v, mm_entry, "retain_metric")) for m, v in mm.items()]
    out += [(f"tx/{m}", _rec(m, "text", "text_forget_metric", v, LOWER, "text_retain_metric")) for m, v in tx.items()]
    return out


def test_a_key_without_a_direction_is_refused_in_one_line():
    """Before issue 22.3 a direction-less key counted as higher-is-better: rho flipped sign (+0.289 for -0.289)."""
    from clear_bench.leaderboard.transfer import transfer

    keys = {"multimodal": {"forget": "forget_metric_ref"}}
    with pytest.raises(ClearBenchError, match="'forget_metric_ref' has no direction") as e:
        transfer(_records(NONE), keys)
    assert "\n" not in str(e.value)
    (forget, _), = [transfer(_records(LOWER), keys)]
    from scipy.stats import spearmanr

    expected = spearmanr([0.15, 0.1, 0.35, 0.3], [0.1, 0.2, 0.3, 0.4]).statistic  # both lower-is-better
    assert forget.rho == pytest.approx(expected) and expected > 0


def test_a_target_value_orients_by_distance():
    from clear_bench.leaderboard.transfer import metric_values

    records = {m: _rec(m, "visual", "ulira", v, {"higher_is_better": None, "ideal": 0.5, "direction": "→0.5"},
                       "retain_acc") for m, v in (("a", 0.4), ("b", 0.55), ("c", 0.9))}
    values = metric_values(records, "ulira", "visual")
    assert sorted(values, key=values.get, reverse=True) == ["b", "a", "c"]


def test_the_command_refuses_a_direction_less_key(tmp_path, capsys):
    from clear_bench.cli import main

    folder = tmp_path / "records"
    folder.mkdir()
    for where, r in _records(NONE):
        (folder / (where.replace("/", "-") + ".json")).write_text(json.dumps(r))
    assert main(["transfer", str(folder), "--key", "multimodal:forget=forget_metric_ref",
                 "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "has no direction" in err[0]
