import math

import numpy as np
import pytest

from clear_bench.errors import ClearBenchError
from clear_bench.eval.metrics import MetricContext, get_metric
from clear_bench.eval.metrics.forget_quality import (js_forget_quality, js_forget_quality_reference,
                                                       js_bins, ks_forget_quality, shared_bin_edges)
from _eval_records import rec, task


def test_ks_p_value_hand_values():
    # Fully separated samples of 3 and 3: D = 1; exact two-sided p = 2 / C(6, 3) = 2/20 = 0.1.
    assert ks_forget_quality([0.1, 0.2, 0.3], [10, 20, 30]) == pytest.approx(0.1)
    assert ks_forget_quality([0.5, 0.7, 0.9], [0.5, 0.7, 0.9]) == pytest.approx(1.0)


def test_ks_is_invariant_to_inverting_the_ratio():
    a, b = np.array([0.2, 0.5, 0.9, 1.3]), np.array([0.4, 0.8, 1.1, 2.0, 3.0])
    assert ks_forget_quality(a, b) == pytest.approx(ks_forget_quality(1 / a, 1 / b))


def test_js_hand_value():
    # log R: unlearned {0, 1}, gold {0, 0}. Shared bins over [0, 1]: unlearned -> (1/2, ..., 1/2),
    # gold -> (1, 0, ...). M = (3/4, ..., 1/4); JSD = ½·KL(P‖M) + ½·KL(Q‖M) in bits.
    kl_p = 0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(0.5 / 0.25)
    kl_q = math.log2(1 / 0.75)
    expected = 1 - math.sqrt(0.5 * kl_p + 0.5 * kl_q)  # ≈ 0.4421
    assert js_forget_quality(np.exp([0.0, 1.0]), np.exp([0.0, 0.0])) == pytest.approx(expected)
    assert js_forget_quality(np.exp([0.0, 1.0]), np.exp([0.0, 0.0]), bins=2) == pytest.approx(expected)


def test_js_extremes():
    r = [0.3, 0.6, 0.9]
    assert js_forget_quality(r, r) == pytest.approx(1.0)
    assert js_forget_quality([1.0, 1.0], [math.e ** 5] * 3) == pytest.approx(0.0)
    assert js_forget_quality([2.0], [2.0]) == pytest.approx(1.0)  # one value: a single bin


def test_js_compares_distributions_not_item_order():
    a = [0.2, 0.5, 0.9, 1.3]
    assert js_forget_quality(a, a[::-1]) == pytest.approx(1.0)


def test_shared_bins_span_both_samples():
    edges = shared_bin_edges(np.array([0.0, 1.0]), np.array([-1.0]), bins=4)
    assert edges == pytest.approx([-1.0, -0.5, 0.0, 0.5, 1.0])


def _forget_run(para):
    return {"forget_captions": task("forget_captions", "forget", [rec(str(i), para=p, pert=(1.0,))
                                                                  for i, p in enumerate(para)])}


def test_registered_forget_quality_needs_gold():
    ctx = MetricContext(tasks=_forget_run([0.1, 0.2, 0.3]))
    with pytest.raises(ClearBenchError, match=r"'forget_quality_ks' needs the gold model's per-item logs.*--gold"):
        get_metric("forget_quality_ks")(ctx)


def test_registered_forget_quality_against_gold():
    # log R = para - 1: unlearned {-0.9,-0.8,-0.7} vs gold {28, 29, 30}: fully separated -> p = 0.1, and
    # the 3 bins (Sturges, n = 3) put them in different bins -> 1 - JS = 0.
    ctx = MetricContext(tasks=_forget_run([0.1, 0.2, 0.3]), gold=_forget_run([29, 30, 31]))
    assert get_metric("forget_quality_ks")(ctx) == {"forget_captions": pytest.approx(0.1)}
    assert get_metric("forget_quality_js")(ctx) == {"forget_captions": pytest.approx(0.0)}
    same = MetricContext(tasks=_forget_run([0.1, 0.2, 0.3]), gold=_forget_run([0.1, 0.2, 0.3]))
    assert get_metric("forget_quality_js")(same) == {"forget_captions": pytest.approx(1.0)}


def test_reference_js_hand_value_and_item_pairing():
    """The reference's number: 1/R vectors normalised over item index, natural-log JS distance, items by id."""
    from scipy.spatial.distance import jensenshannon

    r_u, r_g = np.array([1.0, 3.0]), np.array([3.0, 1.0])
    p, q = np.array([1.0, 1 / 3]) / (4 / 3), np.array([1 / 3, 1.0]) / (4 / 3)  # (3/4, 1/4) and (1/4, 3/4)
    m = (p + q) / 2
    jsd = 0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m))
    assert js_forget_quality_reference(r_u, r_g) == pytest.approx(1 - math.sqrt(jsd))
    assert js_forget_quality_reference(r_u, r_g) == pytest.approx(1 - jensenshannon(1 / r_u, 1 / r_g))
    assert js_forget_quality_reference(r_u, r_u) == pytest.approx(1.0)
    # through the registry: gold items in another order are paired by id, so identical runs score 1
    items = [rec(f"i{k}", "forget_captions", para=v, pert=(1.0,)) for k, v in enumerate([0.1, 0.5, 0.9])]
    run = {"forget_captions": task("forget_captions", "forget", items)}
    gold = {"forget_captions": task("forget_captions", "forget", items[::-1])}
    assert get_metric("forget_quality_js_ref")(MetricContext(tasks=run, gold=gold)) == {
        "forget_captions": pytest.approx(1.0)}


def test_js_bins_follow_sturges_on_the_smaller_sample():
    assert js_bins(1, 50) == 1 and js_bins(2, 2) == 2 and js_bins(6, 300) == 4
    assert js_bins(300, 300) == 10 and js_bins(10**7, 10**7) == 20  # capped


def test_js_and_ks_agree_at_small_n():
    """6 items against 6 from one distribution (interleaved): KS p = 1. Twenty fixed bins put every item in a bin
    of its own and called them disjoint (1 - JS = 0); Sturges' 4 bins see two similar histograms."""
    a = np.exp(np.arange(0, 12, 2.0))
    b = np.exp(np.arange(1, 13, 2.0))
    assert ks_forget_quality(a, b) == pytest.approx(1.0)
    assert js_forget_quality(a, b, bins=20) == pytest.approx(0.0)  # the degenerate rule
    assert js_forget_quality(a, b) > 0.7
    # disjoint samples still score 0 on both, at small and at large n
    assert js_forget_quality(a, a * np.exp(50.0)) == pytest.approx(0.0)
    assert ks_forget_quality(a, a * np.exp(50.0)) < 0.01
    rng = np.random.default_rng(0)
    big_a, big_b = np.exp(rng.normal(0, 1, 300)), np.exp(rng.normal(0, 1, 300))
    assert js_forget_quality(big_a, big_b) > 0.8 and ks_forget_quality(big_a, big_b) > 0.05
    assert js_forget_quality(big_a, big_a * np.exp(20.0)) == pytest.approx(0.0)


def test_log_forget_quality_is_ln_ks_p():
    ctx = MetricContext(tasks=_forget_run([0.1, 0.2, 0.3]), gold=_forget_run([10, 20, 30]))
    ctx.results["forget_quality_ks"] = get_metric("forget_quality_ks")(ctx)
    assert get_metric("log_forget_quality")(ctx) == {"forget_captions": pytest.approx(math.log(0.1))}
    assert get_metric("log_forget_quality").arrow() == "↑"
