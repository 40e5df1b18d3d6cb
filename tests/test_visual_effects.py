"""Every visual method the demo preset tunes lowers forget accuracy and moves the attacks toward 0.5 while keeping
holdout and retain accuracy near Original's (issue 22.5), on all 8 demo split models with the demo preset's
settings (`VisualPreset.defaults_for`: what `clear-eval --track visual --preset demo` runs).

Margins (documented in docs/visual_track.md): forget accuracy at least 0.05 below Original's (Sparsity: 0.03);
holdout and retain accuracy at most 0.06 below Original's; U-LIRA's mean over the 36 target/shadow assignments at
least 0.05 closer to 0.5 than Original's. Measured figures (one thread) beside each method in `MEASURED`.
"""
import tempfile
from pathlib import Path

import pytest

from clear_bench.visual.job import method_scores
from clear_bench.visual.methods import build_method
from clear_bench.visual.metrics import compute

pytestmark = pytest.mark.slow

KEYS = ["forget_acc", "holdout_acc", "retain_acc", "ulira_mean", "umia_mean"]
FORGET_DROP, KEEP_MARGIN, ATTACK_GAIN = 0.05, 0.06, 0.05
# forget, holdout, retain, U-LIRA (first assignment); Original .973 .821 .972 .766, Gold .786 .812 .972 .484
MEASURED = {"ga": (0.848, 0.830, 0.950, 0.526), "gd": (0.679, 0.795, 0.944, 0.557),
            "llmu": (0.804, 0.777, 0.935, 0.557), "dpo": (0.786, 0.830, 0.935, 0.510),
            "scrub": (0.902, 0.821, 0.962, 0.464), "sparsity": (0.920, 0.830, 0.952, 0.573)}
# Sparsity forgets only by drifting: its forget accuracy levels off ~0.05 below Original's at every lr / alpha / epochs
# that keeps holdout and retain (docs/visual_track.md), so it is held to 0.03
MIN_FORGET_DROP = {"sparsity": 0.03}


@pytest.fixture(scope="module")
def demo():
    from clear_bench.presets import cache_dir
    from clear_bench.visual.data import load_faces
    from clear_bench.visual.job import _source
    from clear_bench.visual.presets import get_visual_preset
    from clear_bench.visual.splits import cached_split_models

    preset = get_visual_preset("demo")
    faces = load_faces(preset.faces, _source("demo"), 10)
    splits = cached_split_models(faces, preset.backbone, preset.train, preset.splits, 42, "cpu", cache_dir(), False)
    return preset, faces, splits, scores("original", preset, faces, splits)


def scores(name, preset, faces, splits) -> dict[str, float]:
    method = build_method(name, {}, preset.defaults_for(name))
    with tempfile.TemporaryDirectory() as d:
        run, _ = method_scores(method, name, splits, faces, preset, 42, Path(d), progress=False)
    return {k: v["value"] for k, v in compute(run, KEYS).items()}


@pytest.mark.parametrize("name", sorted(MEASURED))
def test_method_forgets_on_the_demo_and_keeps_the_rest(demo, name):
    preset, faces, splits, original = demo
    got = scores(name, preset, faces, splits)
    assert got["forget_acc"] <= original["forget_acc"] - MIN_FORGET_DROP.get(name, FORGET_DROP), (got, original)
    assert got["holdout_acc"] >= original["holdout_acc"] - KEEP_MARGIN, (got, original)
    assert got["retain_acc"] >= original["retain_acc"] - KEEP_MARGIN, (got, original)
    assert abs(got["ulira_mean"] - 0.5) <= abs(original["ulira_mean"] - 0.5) - ATTACK_GAIN, (got, original)
