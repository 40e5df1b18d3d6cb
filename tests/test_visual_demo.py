"""The visual track end to end on the demo (drawn portraits, tiny ResNet, 8 split models), and each method
moving the quantity its loss targets on one split model. Margins were measured with 1 and 2 threads."""
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from clear_bench.leaderboard.records import load_record
from clear_bench.visual import VisualJobConfig, run_visual_job
from clear_bench.visual.methods import UnlearnTask, available, build_method
from clear_bench.visual.methods.base import id_log_probs
from clear_bench.visual.model import am_softmax_loss

pytestmark = pytest.mark.slow


VISUAL_ATTACKS = "quanto-int8,quanto-int4,relearn-forget"


@pytest.fixture(scope="session")
def visual_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("visual") / "scrub_bio"
    return run_visual_job(VisualJobConfig(method="scrub_bio", preset="demo", out=str(out), attacks=VISUAL_ATTACKS),
                          progress=False)


@pytest.fixture(scope="session")
def demo_splits(visual_run):
    """The split models and face set the run used (from the cache: nothing retrains)."""
    from clear_bench.presets import cache_dir
    from clear_bench.visual.data import load_faces
    from clear_bench.visual.job import _source
    from clear_bench.visual.presets import get_visual_preset
    from clear_bench.visual.splits import cached_split_models

    preset = get_visual_preset("demo")
    faces = load_faces(preset.faces, _source("demo"), 10)
    splits = cached_split_models(faces, preset.backbone, preset.train, preset.splits, 42, "cpu", cache_dir(), False)
    return preset, faces, splits


SPREAD = [f"{a}_{s}" for a in ("ulira", "umia", "umia_tree") for s in ("mean", "min", "max", "lo", "hi")]


def _table(run_dir) -> dict[str, list[float]]:
    rows = {}
    for line in (run_dir / "results.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 5 and cells[0] in ("forget_acc", "holdout_acc", "retain_acc", "ulira", "umia", "umia_tree",
                                            *SPREAD):
            rows[cells[0]] = [float(c) for c in cells[2:]]  # original, method, gold
    return rows


def test_run_folder_and_record(visual_run):
    for name in ("results.md", "results.png", "summary.json", "scores.npz", "submission.json"):
        assert (visual_run / name).exists(), name
    record = load_record(visual_run / "submission.json")  # validates shape and hash
    assert record["track"] == "visual" and record["method"] == "scrub_bio"
    assert {"forget_acc", "holdout_acc", "retain_acc", "ulira", "umia", "umia_tree"} <= set(record["metrics"])
    assert record["metrics"]["ulira"]["ideal"] == 0.5
    summary = json.loads((visual_run / "summary.json").read_text())
    scores = np.load(visual_run / "scores.npz")
    assert scores["score"].shape == (8, len(summary["identities"]) * 12)
    assert not list(visual_run.glob(".work-*"))  # per-split work files are removed once scores.npz is written


def test_original_memorises_and_gold_does_not(visual_run):
    t = _table(visual_run)
    (o_forget, _, g_forget), (_, _, g_holdout) = t["forget_acc"], t["holdout_acc"]
    assert o_forget >= 0.9  # measured 0.97
    assert abs(g_forget - g_holdout) <= 0.15  # gold never saw the forget persons: measured 0.79 vs 0.81
    o_ulira, _, g_ulira = t["ulira"]
    assert o_ulira >= g_ulira + 0.15  # measured 0.77 vs 0.48
    assert abs(g_ulira - 0.5) <= 0.1
    assert t["retain_acc"][2] >= 0.85


def test_attack_spread_over_assignments_of_the_real_split_scores(visual_run):
    """U-LIRA / U-MIA recomputed over the 36 target/shadow assignments of the 8 split models' scores (issue 22.4).
    Measured (one thread): scrub_bio ulira 0.438, over assignments 0.406-0.542 (mean 0.476); Original 0.766,
    0.682-0.797; Gold 0.484, 0.406-0.536."""
    summary = json.loads((visual_run / "summary.json").read_text())
    m = {k: v["value"] for k, v in summary["metrics"].items()}
    assert summary["attack_assignments"] == 36
    for a in ("ulira", "umia", "umia_tree"):
        assert m[f"{a}_min"] <= m[a] <= m[f"{a}_max"], a  # the reported assignment is one of them
        assert m[f"{a}_min"] <= m[f"{a}_lo"] <= m[f"{a}_mean"] <= m[f"{a}_hi"] <= m[f"{a}_max"], a
        assert m[f"{a}_max"] - m[f"{a}_min"] >= 0.02, a  # 2 shadows per side: the assignment matters
    t = _table(visual_run)  # columns: original, scrub_bio, gold
    for a in ("ulira", "umia"):
        (o_lo, s_lo, g_lo), (o_hi, s_hi, g_hi) = t[f"{a}_lo"], t[f"{a}_hi"]
        assert s_hi < o_lo and g_hi < o_lo, (a, t[f"{a}_lo"], t[f"{a}_hi"])  # forgetting is outside Original's
        assert s_lo <= 0.5 <= s_hi and g_lo <= 0.5 <= g_hi  # and scrub_bio cannot be told from Gold or chance
    assert t["ulira"][0] != t["ulira_mean"][0]  # the mean is a new figure, not the single value copied


def test_attacks_on_the_face_id_models(visual_run):
    """Issue 23 on the visual track: quantization and relearning of every unlearned split model, Original's and
    Gold's the same way. Measured (one thread, seed 42; forget accuracy over 8 split models, steps of 1/112):
    scrub_bio 0.741; quanto-int8 0.741 (recovery 0.000, gold 0.000); quanto-int4 0.759 (0.095; gold 0.143);
    relearn-forget, 3 epochs on half of each split's forget identities, 0.714 -> 0.804 on the other half (0.417),
    gold the same 0.417: relearning teaches a model that never saw them as much, it gives nothing back."""
    results = json.loads((visual_run / "attacks.json").read_text())
    assert set(results) == set(VISUAL_ATTACKS.split(","))  # (attacks.json is written with sorted keys)
    int8, int4, relearn = (results[n] for n in VISUAL_ATTACKS.split(","))
    assert int8["forget_before"] == pytest.approx(load_record(visual_run / "submission.json")["metrics"]
                                                  ["forget_acc"]["value"])
    assert abs(int8["recovery"]) < 0.05 and abs(int8["gold_row"]["recovery"]) < 0.05  # 8-bit is benign
    assert int4["forget"] != int4["forget_before"] or int4["retain"] != int4["retain_before"]  # 4-bit moves it
    assert relearn["scored_persons"] and relearn["settings"]["epochs"] == 3
    assert relearn["recovery"] <= relearn["gold_row"]["recovery"] + 0.15  # no more than relearning teaches gold
    record = load_record(visual_run / "submission.json")  # re-hashed: still valid
    assert set(record["attacks"]) == set(results)
    assert record["robust_forget"] == max(int8["forget"], int4["forget"])  # relearn scores half: not in it


def test_resume_reuses_cached_results(visual_run, tmp_path):
    # Original and Gold scores and the split models are cached: a second run retrains nothing
    from clear_bench.presets import cache_dir

    trained = {p: p.stat().st_mtime_ns for p in (cache_dir() / "visual").rglob("*.npz")}
    trained.update({p: p.stat().st_mtime_ns for p in (cache_dir() / "visual").rglob("model_*.pt")})
    out = run_visual_job(VisualJobConfig(method="original", preset="demo", out=str(tmp_path / "o")), progress=False)
    assert trained and all(p.stat().st_mtime_ns == t for p, t in trained.items())
    assert _table(out)["forget_acc"][0] == _table(out)["forget_acc"][1] == _table(visual_run)["forget_acc"][0]


# ------------------------------------------------------------------- each method moves what its loss targets


def _task(demo_splits, k: int = 0, seed: int = 0):
    preset, faces, splits = demo_splits
    plan = splits.plan
    return UnlearnTask(splits.load(k), faces, faces.indices(plan.unlearned(k)), faces.indices(plan.retain[k]),
                       torch.device("cpu"), seed, splits.fresh, preset.train)


def _am(task, model, idx):
    with torch.no_grad():
        model.eval()
        return am_softmax_loss(model(task.x(idx)), model.head.weight, task.y(idx)).item()


def _cos_to(task, before, model, idx, flip=False):
    return F.cosine_similarity(task.embed(model, idx), before, dim=1).mean().item()


def _l1(model):
    return sum(p.abs().sum() for p in model.backbone.parameters()).item()


def _true_logp(task, model, idx, scale):
    with torch.no_grad():
        model.eval()
        return id_log_probs(model, task.x(idx), scale).gather(1, task.y(idx)[:, None]).mean().item()


def _kl(task, teacher, model, idx, scale):
    with torch.no_grad():
        model.eval()
        t, s = id_log_probs(teacher, task.x(idx), scale), id_log_probs(model, task.x(idx), scale)
        return F.kl_div(s, t, log_target=True, reduction="batchmean").item()


def measure(method, task, original, scale: float = 30.0):
    """(before, after, must) of the quantity the method's loss targets; `must` is "up" or "down"."""
    f, r = task.forget_idx, task.retain_idx
    if method in ("ga", "gd", "llmu"):  # ascent on the forget identities' AM-Softmax loss
        return _am(task, original, f), _am(task, task.model, f), "up"
    if method in ("retain_ft", "gold"):  # retain identities' loss: at its floor already (~0.003) for the split
        # model, so retain FT can only keep it small (batch-norm statistics of retain-only batches move it a little);
        # Gold retrained on them alone
        return 0.0, _am(task, task.model, r), "small"
    if method == "sparsity":
        return _l1(original), _l1(task.model), "down"
    if method in ("scrub_bio", "rmu"):  # forget embeddings leave the original's, retain ones stay
        e_f, e_r = task.embed(original, f), task.embed(original, r)
        return _cos_to(task, e_r, task.model, r), _cos_to(task, e_f, task.model, f), "down"
    if method == "twins":  # forget embeddings move to the original's embedding of the flipped image
        target = task.embed(original, f, flip=True)
        return (F.mse_loss(task.embed(original, f), target).item(), F.mse_loss(task.embed(task.model, f), target).item(),
                "down")
    if method == "scrub":  # diverge from the teacher on forget more than on retain
        return _kl(task, original, task.model, r, scale), _kl(task, original, task.model, f, scale), "up"
    if method == "dpo":  # true-identity log-probability falls on forget
        return _true_logp(task, original, f, scale), _true_logp(task, task.model, f, scale), "down"
    if method == "original":
        return 0.0, sum((a - b).abs().sum().item() for a, b in zip(original.state_dict().values(),
                                                                     task.model.state_dict().values())), "zero"
    raise AssertionError(f"no check for {method}")


# The reference's SCRUB (lr 0.01, 15 steps on the demo) moves its KL terms by ~1e-7, below thread-count noise (the
# paper's SCRUB row is Original's too); the demo preset's lr 0.1 (train mode) is what runs here
ARGS: dict[str, dict] = {}


@pytest.mark.parametrize("method", sorted(set(available())))
def test_method_moves_its_target(demo_splits, method):
    preset = demo_splits[0]
    task = _task(demo_splits)
    original = task.frozen_copy()
    m = build_method(method, ARGS.get(method, {}), preset.defaults_for(method))
    m.unlearn(task)
    before, after, must = measure(method, task, original, getattr(m.config, "scale", 30.0))
    if must == "up":
        assert after > before * 1.05, (before, after)  # the demo's low-lr methods move little: ga +9 %
    elif must == "down":
        assert after < before - 1e-3, (before, after)
    elif must == "zero":
        assert after == 0.0
    else:
        assert after < 0.05, after  # measured: 0.005 (retain_ft), 0.004 (gold)


def test_method_run_resumes_at_the_missing_split(demo_splits, tmp_path):
    from clear_bench.visual.job import method_scores

    preset, faces, splits = demo_splits
    method = build_method("ga", {}, preset.method_defaults)
    first, _ = method_scores(method, "ga", splits, faces, preset, 42, tmp_path, progress=False)
    (tmp_path / "split_003.npz").unlink()  # as if killed while unlearning split model 3
    kept = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("split_*.npz")}
    again, cost = method_scores(method, "ga", splits, faces, preset, 42, tmp_path, progress=False)
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("split_*.npz") if p.name in kept} == kept
    assert (tmp_path / "split_003.npz").exists()
    np.testing.assert_allclose(again.scores, first.scores, rtol=1e-6)  # same seed per split: same result
    assert cost.wall_s > 0
