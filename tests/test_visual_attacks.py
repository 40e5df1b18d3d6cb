"""U-LIRA, U-MIA and the score on synthetic numbers with hand-computed answers."""
import math

import numpy as np
import pytest

from clear_bench.visual.attacks import (logit_score, robust_gaussian, ulira_accuracy, ulira_predictions,
                                        umia_accuracy)


def test_logit_score_hand_values():
    # cos 0.5 -> p/(1-p) = 1 -> 0; cos 0.8 -> log 4; negative cosines clip to p = 0, cos 1 to p = 1: finite
    got = logit_score([0.5, 0.8, -0.3, 0.0, 1.0])
    assert got[0] == pytest.approx(0.0, abs=1e-12)
    assert got[1] == pytest.approx(math.log(4.0))
    assert np.isfinite(got).all()
    assert got[2] == got[3] == pytest.approx(math.log(1e-45))  # -103.6
    assert got[4] == pytest.approx(-math.log(1e-45))


def test_robust_gaussian_median_and_mad():
    med, sd = robust_gaussian(np.array([[1.0, 2.0, 3.0, 4.0, 100.0]]), min_sigma=1e-3)
    # median 3; |x - 3| = 2 1 0 1 97 -> MAD 1; sigma = 1 / 0.6745
    assert med[0] == 3.0 and sd[0] == pytest.approx(1 / 0.6745)


def test_ulira_identical_distributions_is_chance():
    rng = np.random.default_rng(0)
    e, s, t = 400, 16, 16
    shadows_in, shadows_out = rng.normal(0, 1, (e, s)), rng.normal(0, 1, (e, s))
    targets = rng.normal(0, 1, (e, t))
    is_in = np.zeros((e, t), bool)
    is_in[:, : t // 2] = True
    # 6400 Bernoulli(0.5) guesses: sd 0.006; 0.04 is > 6 sd
    assert ulira_accuracy(shadows_in, shadows_out, targets, is_in) == pytest.approx(0.5, abs=0.04)


def test_ulira_well_separated_is_near_perfect():
    rng = np.random.default_rng(1)
    e, s = 50, 8
    in_s, out_s = rng.normal(3, 1, (e, s)), rng.normal(-3, 1, (e, s))
    targets = np.concatenate([rng.normal(3, 1, (e, 4)), rng.normal(-3, 1, (e, 4))], axis=1)
    is_in = np.zeros((e, 8), bool)
    is_in[:, :4] = True
    assert ulira_accuracy(in_s, out_s, targets, is_in) >= 0.95


def test_ulira_zero_mad_does_not_divide_by_zero():
    # every IN shadow score equal (MAD 0), e.g. cosines clipped to 0: the floor keeps it a narrow Gaussian
    in_s = np.full((1, 4), -103.6)
    out_s = np.array([[1.0, 2.0, 3.0, 4.0]])
    with np.errstate(all="raise"):
        pred = ulira_predictions(in_s, out_s, np.array([[-103.6, 2.5]]))
    assert pred.tolist() == [[True, False]]


def test_ulira_per_example_uses_each_examples_own_shadows():
    # example 0's IN scores are high, example 1's IN scores are low: a population threshold cannot tell both
    in_s = np.array([[5.0, 5.2, 4.8], [-5.0, -5.2, -4.8]])
    out_s = np.array([[0.0, 0.2, -0.2], [0.0, 0.2, -0.2]])
    targets = np.array([[5.1, 0.1], [-5.1, 0.1]])
    is_in = np.array([[True, False], [True, False]])
    assert ulira_accuracy(in_s, out_s, targets, is_in) == 1.0


def test_umia_identical_and_separated():
    rng = np.random.default_rng(2)
    n = 2000
    same = umia_accuracy(rng.normal(0, 1, 2 * n), np.r_[np.ones(n), np.zeros(n)], rng.normal(0, 1, 2 * n),
                         np.r_[np.ones(n), np.zeros(n)])
    assert same == pytest.approx(0.5, abs=0.05)
    shadow = np.r_[rng.normal(4, 1, n), rng.normal(-4, 1, n)]
    target = np.r_[rng.normal(4, 1, n), rng.normal(-4, 1, n)]
    labels = np.r_[np.ones(n), np.zeros(n)]
    assert umia_accuracy(shadow, labels, target, labels) >= 0.95
    assert umia_accuracy(shadow, labels, target, labels, model="tree") >= 0.95
