import math

import pytest

from clear_bench.errors import ClearBenchError
from clear_bench.eval.metrics import MetricContext, get_metric
from clear_bench.eval.metrics.probability import item_prob, normalized_prob, task_prob
from _eval_records import rec, task

LN2, LN4 = math.log(2), math.log(4)


def test_item_prob_is_per_token_geometric_mean():
    # NLL 2·ln2 over 2 tokens: each token had p = 1/2, so the per-token probability is 1/2.
    assert item_prob(2 * LN2, 2) == pytest.approx(0.5)
    with pytest.raises(ClearBenchError):
        item_prob(1.0, 0)


def test_normalized_prob_hand_values():
    # p = 1/2, q = 1/4 and 1/4  ->  0.5 / (0.5 + 0.5) = 1/2
    assert normalized_prob(LN2, [LN4, LN4]) == pytest.approx(0.5)
    # p = 1/2, q = 1/4  ->  0.5 / 0.75 = 2/3
    assert normalized_prob(LN2, [LN4]) == pytest.approx(2 / 3)


def test_answer_removed_from_options_changes_the_value():
    # Options as distractors only (the loader drops the answer): 2/3. Had the answer stayed among the
    # options it would be counted twice: 0.5 / (0.5 + 0.5 + 0.25) = 0.4. The metric trusts the loader.
    assert normalized_prob(LN2, [LN4]) == pytest.approx(2 / 3)
    assert normalized_prob(LN2, [LN2, LN4]) == pytest.approx(0.4)


def test_normalized_prob_does_not_underflow():
    assert normalized_prob(5000.0, [5000.0]) == pytest.approx(0.5)


def test_task_prob_caption_vs_choice():
    items = [rec("a", ans=LN2, pert=(LN4,)), rec("b", ans=LN4, pert=(LN4,))]
    assert task_prob(items, normalized=False) == pytest.approx((0.5 + 0.25) / 2)
    assert task_prob(items, normalized=True) == pytest.approx((2 / 3 + 0.5) / 2)


def test_registered_prob_per_task():
    ctx = MetricContext(tasks={
        "retain_captions": task("retain_captions", "retain", [rec(ans=LN2, pert=(LN4,))]),
        "real_faces": task("real_faces", "real", [rec(ans=LN2, pert=(LN4,))], normalized=True),
    })
    out = get_metric("prob")(ctx)
    assert out == pytest.approx({"retain_captions": 0.5, "real_faces": 2 / 3})


def test_choice_task_without_perturbed_is_an_error():
    with pytest.raises(ClearBenchError, match="perturbed"):
        task_prob([rec(pert=())], normalized=True)
