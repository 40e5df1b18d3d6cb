import math
import zlib

import pytest

from clear_bench.errors import ClearBenchError
from clear_bench.eval.metrics import MetricContext, get_metric, resolve_order
from clear_bench.eval.metrics.privacy import (attack_auc, loss_score, mia_auc, min_k_pp_score, min_k_score, privleak,
                                              zlib_score)
from _eval_records import rec, task


def test_auc_hand_values():
    assert mia_auc([3, 4], [1, 2]) == 1.0            # separable: members score higher
    assert mia_auc([1, 2], [3, 4]) == 0.0
    assert mia_auc([1, 2], [1, 2]) == 0.5            # identical distributions
    assert mia_auc([2, 4], [1, 3]) == pytest.approx(3 / 4)   # 3 of 4 pairs ordered
    assert mia_auc([1], [1]) == 0.5                  # a tie counts one half


def test_item_scores_hand_values():
    r = rec(ans=3.0, n=5, answer="aaaa", token_logprobs=[-1, -2, -3, -4, -5], token_mu=[-1] * 5,
            token_sigma=[2] * 5)
    assert loss_score(r) == -3.0
    assert zlib_score(r) == pytest.approx(-3.0 / len(zlib.compress(b"aaaa")))
    assert min_k_score(r) == pytest.approx(-4.5)      # 40% of 5 tokens = 2 lowest: -5, -4
    # z = (lp - mu) / sigma = 0, -0.5, -1, -1.5, -2 -> mean of the 2 lowest = -1.75
    assert min_k_pp_score(r) == pytest.approx(-1.75)
    assert min_k_score(r, k=0.01) == -5.0             # at least one token


def test_min_k_needs_token_logprobs():
    with pytest.raises(ClearBenchError, match="token_logprobs"):
        min_k_score(rec())


def _items(prefix, nlls):
    return [rec(f"{prefix}{i}", ans=v, n=2, token_logprobs=[-v, -v], token_mu=[-3.0, -3.0], token_sigma=[1.0, 1.0])
            for i, v in enumerate(nlls)]


@pytest.mark.parametrize("attack", ["loss", "zlib", "min_k", "min_k_pp"])
def test_attack_aucs_separable_and_identical(attack):
    members, holdout = _items("m", [0.1, 0.2, 0.3]), _items("h", [2.0, 2.5, 3.0])
    assert attack_auc(attack, members, holdout) == 1.0
    assert attack_auc(attack, members, _items("h", [0.1, 0.2, 0.3])) == 0.5


def test_privleak_hand_values():
    # A' = 1 - AUC: unlearned 0.1, gold 0.5 -> (0.1 - 0.5) / 0.5 * 100 = -80 (under-unlearned)
    assert privleak(0.9, 0.5) == pytest.approx(-80.0)
    assert privleak(0.5, 0.5) == 0.0
    assert privleak(0.3, 0.5) == pytest.approx(40.0)   # over-unlearned
    assert math.isnan(privleak(0.7, 1.0))


def _run(member_nlls):
    return {"forget_captions": task("forget_captions", "forget", _items("m", member_nlls), group="captions"),
            "holdout_captions": task("holdout_captions", "holdout", _items("h", [1.0, 1.5, 2.0]), group="captions"),
            "retain_captions": task("retain_captions", "retain", _items("r", [0.1]), group="captions")}


def test_registered_mia_and_privleak():
    ctx = MetricContext(tasks=_run([0.1, 0.2, 0.3]), gold=_run([1.0, 1.5, 2.0]))
    for spec in resolve_order(["privleak_loss"]):
        ctx.results[spec.name] = spec(ctx)
    assert ctx.results["mia_loss_auc"] == {"forget_captions": 1.0}
    assert ctx.results["privleak_loss"] == {"forget_captions": pytest.approx(-100.0)}  # gold AUC 0.5


def test_mia_not_applicable_without_holdout_and_privleak_needs_gold():
    tasks = {k: v for k, v in _run([0.1]).items() if k != "holdout_captions"}
    assert get_metric("mia_loss_auc")(MetricContext(tasks=tasks)) == {}
    with pytest.raises(ClearBenchError, match="'privleak_zlib' needs the gold model"):
        get_metric("privleak_zlib")(MetricContext(tasks=_run([0.1]), results={"mia_zlib_auc": {}}))
