import math

import numpy as np
import pytest

from clear_bench.eval.metrics import MetricContext, get_metric
from clear_bench.eval.metrics.truth_ratio import (item_truth_ratios, reference_global_ratios, truth_ratio_forget,
                                                  truth_ratio_keep)
from _eval_records import rec, task

E = math.e
# Item 1: paraphrase 1 nat/token, perturbed 1 and 3 -> per-item mean 2 -> R1 = exp(1 - 2) = 1/e.
# Item 2: paraphrase 1, perturbed 1 and 1 -> R2 = exp(0) = 1.
PARA = [1.0, 1.0]
PERT = [[1.0, 3.0], [1.0, 1.0]]


def test_per_item_ratios_hand_values():
    assert item_truth_ratios(PARA, PERT) == pytest.approx([1 / E, 1.0])


def test_per_item_mean_differs_from_global_mean():
    # Global mean of all perturbed losses = 6/4 = 1.5 -> both items get exp(-0.5) (the reference's defect).
    glob = reference_global_ratios(PARA, PERT)
    assert glob == pytest.approx([math.exp(-0.5)] * 2)
    per_item = item_truth_ratios(PARA, PERT)
    assert truth_ratio_keep(per_item) == pytest.approx((1 - 1 / E) / 2)          # 0.3161
    assert truth_ratio_keep(glob) == pytest.approx(1 - math.exp(-0.5))           # 0.3935
    assert not np.isclose(truth_ratio_keep(per_item), truth_ratio_keep(glob))


def test_forget_and_keep_forms():
    r = [1 / E, 1.0, E]  # prefers truth, indifferent, prefers the false answers
    assert truth_ratio_forget(r) == pytest.approx((1 / E + 1 + 1 / E) / 3)
    # max(0, 1 - R): 1 - 1/e, 0, and 0 (clipped) -- rewards preferring the true answer (TOFU sign).
    assert truth_ratio_keep(r) == pytest.approx((1 - 1 / E) / 3)


def test_forget_form_is_stable_for_extreme_ratios():
    assert truth_ratio_forget([np.inf, 0.0]) == 0.0


def test_registered_metric_uses_per_item_mean_and_role_form():
    items = [rec("a", para=1.0, pert=(1.0, 3.0)), rec("b", para=1.0, pert=(1.0, 1.0))]
    ctx = MetricContext(tasks={"forget_captions": task("forget_captions", "forget", items),
                               "retain_captions": task("retain_captions", "retain", items)})
    out = get_metric("truth_ratio")(ctx)
    assert out["forget_captions"] == pytest.approx((1 / E + 1) / 2)
    assert out["retain_captions"] == pytest.approx((1 - 1 / E) / 2)


def test_paraphrase_defaults_to_answer():
    # face->name and real tasks: paraphrase column = the answer -> the record leaves paraphrase None.
    items = [rec(ans=1.0, para=None, pert=(2.0,))]
    ctx = MetricContext(tasks={"real_faces": task("real_faces", "real", items, normalized=True)})
    assert get_metric("truth_ratio")(ctx)["real_faces"] == pytest.approx(1 - 1 / E)
