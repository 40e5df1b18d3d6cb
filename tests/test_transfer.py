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


def _with_utility(rec, utility, target_utility=0.6):
    """`rec` with the board's keep score (model_utility) and the target's, as a real run's record holds them."""
    from clear_bench.leaderboard.records import record_hash

    rec = json.loads(json.dumps(rec))
    rec["metrics"]["model_utility"] = {"value": utility, "higher_is_better": True, "direction": "↑"}
    rec["reference"] = {"target": {"model_utility": target_utility}, "gold": {"model_utility": target_utility}}
    rec["record_hash"] = record_hash(rec)
    return rec


def test_a_collapsed_run_ranks_last_not_as_the_best_forgetter():
    """Issue 27.4: ga's forget metric is the lowest (best) because it destroyed the model (utility 0.01 < half
    the target's 0.6); like the board, transfer ranks it last."""
    from clear_bench.leaderboard.transfer import transfer

    records = [(w, _with_utility(r, 0.01 if r["method"] == "ga" else 0.55) if w.startswith("mm/") else r)
               for w, r in _records(LOWER, "forget_metric")]
    forget = next(c for c in transfer(records) if c.kind == "forget")
    assert forget.ranks["ga"][1] == 4.0  # multimodal rank: last of four, though its 0.1 is the lowest
    plain = next(c for c in transfer(_records(LOWER, "forget_metric")) if c.kind == "forget")
    assert plain.ranks["ga"][1] == 1.0


def test_transfer_reads_a_folder_of_run_folders(tmp_path, capsys):
    """Issue 27.4: `clear-bench transfer runs` found nothing in a folder of run folders (runs/*/submission.json)."""
    from clear_bench.cli import main

    runs = tmp_path / "runs"
    for where, rec in _records(LOWER, "forget_metric"):
        folder = runs / where.replace("/", "-")
        folder.mkdir(parents=True)
        (folder / "submission.json").write_text(json.dumps(rec))
    (runs / "mm-ga" / ".checkpoint-x").mkdir()
    (runs / "mm-ga" / ".checkpoint-x" / "submission.json").write_text("{}")  # hidden: not a record
    assert main(["transfer", str(runs), "--out", str(tmp_path / "out")]) == 0
    assert "methods used: ga, gd, idk, npo" in capsys.readouterr().out


def test_transfer_out_never_overwrites_a_users_file(tmp_path, capsys):
    """Issue 28.6: `transfer --out` overwrote the user's transfer.md; a folder of someone else's files is refused
    and left as it was; our own transfer folder is rewritten."""
    from clear_bench.cli import main

    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "transfer.md").write_text("my notes\n")
    assert main(["transfer", "--out", str(mine)]) == 2
    assert "already holds files that clear-bench did not write" in capsys.readouterr().err
    assert (mine / "transfer.md").read_text() == "my notes\n" and sorted(p.name for p in mine.iterdir()) == \
        ["transfer.md"]
    ours = tmp_path / "ours"
    assert main(["transfer", "--out", str(ours)]) == 0 and main(["transfer", "--out", str(ours)]) == 0
