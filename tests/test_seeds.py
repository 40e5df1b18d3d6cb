"""`clear-eval --seeds K --vary unlearn|train|both` (issue 24.2): which seed the K runs differ in, and the 95 %
t-interval of every metric's mean over them."""
import json
import math

import pytest

from clear_bench.cli import clear_eval_main
from clear_bench.job import JobConfig
from clear_bench.repeat import seed_config, spread


def test_vary_chooses_which_seed_moves():
    cfg = JobConfig(method="npo", preset="demo", seed=42)
    assert (seed_config(cfg, 43, "unlearn").seed, seed_config(cfg, 43, "unlearn").train_seed) == (43, None)
    assert (seed_config(cfg, 43, "train").seed, seed_config(cfg, 43, "train").train_seed) == (42, 43)
    assert (seed_config(cfg, 43, "both").seed, seed_config(cfg, 43, "both").train_seed) == (43, 43)


def test_a_train_seed_is_another_target_and_gold():
    """The fine-tune recipe carries the training seed, so target and gold are cached (and fingerprinted) per seed
    while the unlearning settings stay the same."""
    import dataclasses

    from clear_bench.job import _recipe, finetune_recipe
    from clear_bench.tracks import get_track

    track = get_track("multimodal")
    plain = _recipe(JobConfig(method="npo", preset="demo"), track)[0]
    seeded = _recipe(JobConfig(method="npo", preset="demo", train_seed=7), track)[0]
    assert finetune_recipe(seeded, "full").train.seed == 7 != finetune_recipe(plain, "full").train.seed
    assert dataclasses.replace(seeded.finetune, seed=plain.finetune.seed) == plain.finetune
    assert seeded.unlearn == plain.unlearn


def test_spread_has_the_t_interval_of_the_mean():
    from scipy import stats

    values = [0.2, 0.5, 0.35]
    table = spread([{"metrics": {"m": {"value": v, "direction": "↑"}}} for v in values])
    half = stats.t.ppf(0.975, 2) * stats.tstd(values) / math.sqrt(3)
    assert table["m"]["ci95"] == pytest.approx(half) and table["m"]["n"] == 3
    assert spread([{"metrics": {"m": {"value": 0.1}}}])["m"]["ci95"] is None


@pytest.mark.parametrize("argv, needle", [
    (["--method", "npo", "--vary", "train"], "--vary train chooses which seed --seeds K varies: give --seeds 2"),
    (["--track", "visual", "--method", "ga", "--seeds", "2", "--vary", "train"], "--vary belongs to --track"),
    (["--method", "npo", "--seeds", "2", "--vary", "model"], "invalid choice: 'model'"),
])
def test_bad_vary_is_one_line(argv, needle, tmp_path, capsys):
    with pytest.raises(SystemExit) if "invalid choice" in needle else _nothing():
        code = clear_eval_main(argv + ["--preset", "demo", "--out", str(tmp_path / "o")])
        assert code == 2
    assert needle in capsys.readouterr().err


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.slow
def test_seeds_vary_train_gives_distinct_targets_and_golds(tmp_path, capsys, monkeypatch):
    """Two seeds with --vary train: two target/gold pairs (distinct weight checksums), one record per seed, the
    group's seeds.json with the interval. Target and gold fine-tune for 2 epochs here instead of the demo
    recipe's 50 (what is checked is which seed each fine-tune got, not what it memorised: hence
    --allow-unmemorised), so the test trains four small models instead of a second 50-epoch pair."""
    import dataclasses

    from clear_bench.presets import PRESETS

    demo = PRESETS.get("demo")
    monkeypatch.setitem(PRESETS._items, "demo", dataclasses.replace(
        demo, finetune=dataclasses.replace(demo.finetune, epochs=2)))
    out = tmp_path / "group"
    assert clear_eval_main(["--preset", "demo", "--method", "gd", "--seeds", "2", "--vary", "train", "--cap", "2",
                            "--epochs", "1", "--allow-unmemorised", "--out", str(out)]) == 0
    records = [json.loads((out / f"seed-{s}" / "submission.json").read_text()) for s in (42, 43)]
    assert records[0]["model"]["target"] != records[1]["model"]["target"]
    assert records[0]["model"]["gold"] != records[1]["model"]["gold"]
    assert [r["config"]["finetune"]["seed"] for r in records] == [42, 43] and {r["seed"] for r in records} == {42}
    assert {r["config"]["finetune"]["epochs"] for r in records} == {2}  # the patched recipe is what ran
    group = json.loads((out / "seeds.json").read_text())
    assert group["vary"] == "train" and any(e["ci95"] is not None for e in group["spread"].values())
