"""AM-Softmax, enrolment accuracy, split plans and the visual metric registry on toy tensors."""
import math

import numpy as np
import pytest
import torch

from clear_bench.errors import ClearBenchError
from clear_bench.visual.metrics import METRICS, accuracy, enrolment, face_id
from clear_bench.visual.model import am_softmax_logits, am_softmax_loss
from clear_bench.visual.splits import SplitPlan, check_splits


def test_am_softmax_hand_value():
    emb = torch.tensor([[2.0, 0.0]])  # normalised: (1, 0)
    weight = torch.tensor([[3.0, 0.0], [0.0, 1.0]])  # normalised rows: (1, 0), (0, 1)
    # s = 1, m = 0.4: logits (1 - 0.4, 0) -> loss = log(1 + e^-0.6)
    loss = am_softmax_loss(emb, weight, torch.tensor([0]), s=1.0, m=0.4)
    assert loss.item() == pytest.approx(math.log(1 + math.exp(-0.6)), rel=1e-6)
    # the margin applies to the true class only; without labels there is none
    assert am_softmax_logits(emb, weight, None, s=30.0).tolist() == [[30.0, 0.0]]
    assert am_softmax_logits(emb, weight, torch.tensor([1]), s=30.0, m=0.4)[0].tolist() == pytest.approx([30.0, -12.0])


def test_am_softmax_default_scale_and_margin():
    emb = torch.tensor([[1.0, 0.0]])
    weight = torch.tensor([[1.0, 0.0], [0.8, 0.6]])  # cos 1 (true class) and 0.8
    # s 30, m 0.4: logits 30 * 0.6 = 18 and 30 * 0.8 = 24 -> loss log(1 + e^6); without the margin log(1 + e^-6)
    loss = am_softmax_loss(emb, weight, torch.tensor([0]))
    assert loss.item() == pytest.approx(math.log(1 + math.exp(6)), rel=1e-5)


def test_enrolment_accuracy_on_toy_embeddings():
    # two identities, 3 images each; the first 2 enrol. Identity 0 near (1, 0), identity 1 near (0, 1).
    emb = torch.tensor([[1.0, 0.1], [1.0, -0.1], [0.2, 1.0],  # id 0: its third image looks like id 1
                        [0.0, 1.0], [0.1, 1.0], [0.0, 2.0]])
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    enrol = torch.tensor([True, True, False, True, True, False])
    ref = enrolment(emb, labels, enrol, 2)
    assert ref[0].tolist() == pytest.approx([1.0, 0.0])
    assert ref[1].tolist() == pytest.approx([0.05 / math.sqrt(1 + 0.0025) * 1, 1 / math.sqrt(1.0025)], rel=1e-5)
    score, pred = face_id(emb, labels, enrol, 2)
    assert pred.tolist() == [0, 0, 1, 1, 1, 1]
    scored = ~enrol.numpy()
    assert accuracy(pred, labels.numpy(), scored) == 0.5  # image 2 wrong, image 5 right
    # score of image 5: cos((0, 1), ref 1) = 1/sqrt(1.0025); l = log(p / (1 - p))
    p = 1 / math.sqrt(1.0025)
    assert score[5] == pytest.approx(math.log(p / (1 - p)), rel=1e-4)


def test_split_roles_follow_the_reference():
    plan = SplitPlan(8, (0,), (1,), tuple((2,) for _ in range(8)))
    assert plan.roles("forget") == {"in_targets": [0, 1], "in_shadows": [2, 3], "out_targets": [4, 5],
                                    "out_shadows": [6, 7]}
    assert plan.roles("holdout") == {"in_targets": [4, 5], "in_shadows": [6, 7], "out_targets": [0, 1],
                                     "out_shadows": [2, 3]}
    assert plan.unlearned(0) == (0,) and plan.kept_out(0) == (1,)
    assert plan.unlearned(7) == (1,) and plan.kept_out(7) == (0,)


def test_assignments_are_every_choice_of_targets_at_demo_scale_and_seeded_draws_beyond():
    plan = SplitPlan(8, (0,), (1,), tuple((2,) for _ in range(8)))
    got = plan.assignments()
    assert got[0] == plan.default_targets == (0, 1, 4, 5)
    assert len(got) == len(set(got)) == 36  # C(4, 2) targets in each half, squared
    assert all(len(set(a) & {0, 1, 2, 3}) == 2 and len(set(a) & {4, 5, 6, 7}) == 2 for a in got)
    roles = plan.roles("holdout", (1, 3, 4, 6))  # holdout examples are IN the second half's models
    assert roles == {"in_targets": [4, 6], "in_shadows": [5, 7], "out_targets": [1, 3], "out_shadows": [0, 2]}
    big = SplitPlan(128, (0,), (1,), tuple((2,) for _ in range(128)))
    drawn = big.assignments(limit=40, seed=3)
    assert len(drawn) == len(set(drawn)) == 40 and drawn[0] == big.default_targets
    assert drawn == big.assignments(limit=40, seed=3) != big.assignments(limit=40, seed=4)
    assert all(len([k for k in a if k < 64]) == 32 == len([k for k in a if k >= 64]) for a in drawn)


def test_spread_over_assignments_recomputes_the_attack_per_assignment():
    """Synthetic scores where only model 1 (a forget-IN target by default) is far from its shadows: the attack
    depends on which models are targets, and the spread is taken over exactly those recomputed values."""
    from types import SimpleNamespace

    from clear_bench.visual.metrics import RunScores, compute, over_assignments, ulira

    rng = np.random.default_rng(0)
    labels = torch.tensor([0] * 6 + [1] * 6 + [2] * 6)
    plan = SplitPlan(8, (0,), (1,), tuple((2,) for _ in range(8)))
    scores = rng.normal(0, 1, (8, 18))
    scores[:4, :6] += 2.0  # forget examples: IN models score them higher, but not by much
    scores[1, :6] += 20.0  # ... and model 1 far higher: as a shadow it drags the IN median away
    run = RunScores(scores, np.zeros((8, 18), int), SimpleNamespace(labels=labels), plan)
    values = over_assignments(run, "ulira")
    assert len(values) == 36 and values[0] == ulira(run)
    assert values[5] == ulira(RunScores(scores, run.preds, run.faces, plan, targets=plan.assignments()[5]))
    assert values.min() < values.max()
    out = compute(run, ["ulira", "ulira_mean", "ulira_min", "ulira_max", "ulira_lo", "ulira_hi"])
    assert out["ulira_mean"]["value"] == pytest.approx(values.mean(), abs=1e-6)
    assert out["ulira_min"]["value"] <= out["ulira_lo"]["value"] <= out["ulira_mean"]["value"]
    assert out["ulira_mean"]["value"] <= out["ulira_hi"]["value"] <= out["ulira_max"]["value"]
    assert out["ulira_min"]["value"] <= out["ulira"]["value"] <= out["ulira_max"]["value"]
    assert out["ulira_lo"]["ideal"] == 0.5 and out["ulira_lo"]["direction"] == "→0.5"


@pytest.mark.parametrize("n", [2, 5, 7, 0])
def test_bad_split_counts(n):
    with pytest.raises(ClearBenchError, match="even number"):
        check_splits(n)


def test_metrics_have_directions():
    assert {m: (s.higher_is_better, s.ideal) for m, s in METRICS.items()} == {
        "forget_acc": (False, None), "holdout_acc": (True, None), "retain_acc": (True, None),
        "ulira": (None, 0.5), "umia": (None, 0.5), "umia_tree": (None, 0.5),  # a target value (issue 22.3)
        **{f"{a}_{s}": (None, 0.5) for a in ("ulira", "umia", "umia_tree")
           for s in ("mean", "min", "max", "lo", "hi")}}  # their spread over target/shadow assignments (22.4)
