import pytest
from scipy.stats import hmean

from clear_bench.errors import ClearBenchError
from clear_bench.eval.metrics import MetricContext, get_metric
from clear_bench.eval.metrics.utility import harmonic_mean
from _eval_records import rec, task


def test_harmonic_mean_hand_values():
    assert harmonic_mean([1.0, 0.5]) == pytest.approx(2 / 3)          # 2 / (1 + 2)
    assert harmonic_mean([0.2, 0.4, 0.8]) == pytest.approx(hmean([0.2, 0.4, 0.8]))


def test_harmonic_mean_zero_gives_zero():
    assert harmonic_mean([0.9, 0.0, 0.7]) == 0.0


def test_harmonic_mean_rejects_bad_input():
    for bad in ([], [0.5, -0.1], [float("nan")]):
        with pytest.raises(ClearBenchError):
            harmonic_mean(bad)


def _ctx(results, roles):
    tasks = {name: task(name, role, [rec()]) for name, role in roles.items()}
    return MetricContext(tasks=tasks, results=results)


ROLES = {"forget_captions": "forget", "forget_facerec": "forget", "retain_captions": "retain",
         "retain_facerec": "retain", "real_faces": "real", "real_world": "real"}


def _results(zero_at=None):
    vals = {"prob": {"forget_captions": 0.1, "forget_facerec": 0.2, "retain_captions": 0.5, "retain_facerec": 1.0,
                     "real_faces": 0.5, "real_world": 0.25},
            "truth_ratio": {"forget_captions": 0.4, "forget_facerec": 0.8, "retain_captions": 0.5,
                            "retain_facerec": 0.5, "real_faces": 1.0, "real_world": 0.5},
            "rouge_l": {"forget_captions": 0.9, "forget_facerec": 0.9, "retain_captions": 1.0, "retain_facerec": 1.0,
                        "real_faces": 0.5, "real_world": 0.5}}
    if zero_at:
        vals[zero_at[0]][zero_at[1]] = 0.0
    return vals


def test_model_utility_is_hmean_of_non_forget_values():
    ctx = _ctx(_results(), ROLES)
    # 12 non-forget values; reciprocals: prob 2+1+2+4, TR 2+2+1+2, ROUGE 1+1+2+2 = 22 -> 12/22
    assert get_metric("model_utility")(ctx) == pytest.approx(12 / 22)
    assert get_metric("model_utility")(_ctx(_results(("rouge_l", "real_world")), ROLES)) == 0.0
    # Forget values do not enter: zeroing one leaves utility unchanged.
    assert get_metric("model_utility")(_ctx(_results(("prob", "forget_captions")), ROLES)) == pytest.approx(12 / 22)


def test_model_utility_keeps_the_papers_tasks_when_tofu_qa_joins():
    """The paper's utility is over the four CLEAR retain/real tasks; TOFU retain QA enters model_utility_all only."""
    roles = {**ROLES, "tofu_retain": "retain"}
    results = _results()
    for name, value in (("prob", 0.25), ("truth_ratio", 0.25), ("rouge_l", 0.25)):
        results[name]["tofu_retain"] = value
    ctx = _ctx(results, roles)
    assert get_metric("model_utility")(ctx) == pytest.approx(12 / 22)
    assert get_metric("model_utility_all")(ctx) == pytest.approx(15 / (22 + 12))  # + three reciprocals of 4
    with pytest.raises(ClearBenchError, match="lacks real_world"):
        get_metric("model_utility")(_ctx(_results(), {k: v for k, v in ROLES.items() if k != "real_world"}))


def test_paper_table_metrics():
    """Paper text (v4 §5.1): hmean of ROUGE-L, Prob and the retained-knowledge truth ratio max(0, 1 - R)."""
    res = _results()
    res["truth_ratio_keep"] = {"forget_captions": 0.5, "forget_facerec": 0.25, "retain_captions": 0.5,
                               "retain_facerec": 0.5, "real_faces": 1.0, "real_world": 0.5}
    ctx = _ctx(res, ROLES)
    # forget: ROUGE 0.9, 0.9; Prob 0.1, 0.2; TR_keep 0.5, 0.25 -> reciprocals 10/9 * 2 + 10 + 5 + 2 + 4
    assert get_metric("forget_metric")(ctx) == pytest.approx(6 / (20 / 9 + 21))
    assert get_metric("retain_metric")(ctx) == pytest.approx(6 / (1 + 1 + 2 + 1 + 2 + 2))
    assert get_metric("real_metric")(ctx) == pytest.approx(6 / (2 + 2 + 2 + 4 + 1 + 2))
    assert get_metric("forget_metric").arrow() == "↓" and get_metric("retain_metric").arrow() == "↑"


def test_reference_table_formula_on_per_item_truth_ratios():
    """The reference code's table formula, hmean of (Prob, the role's Truth Ratio), no ROUGE, on the per-item
    truth ratio (`*_prob_tr`); the `*_ref` versions read the global-mean `truth_ratio_ref` instead
    (tests/test_metrics_reference.py)."""
    res = _results()
    ctx = _ctx(res, ROLES)
    # forget: hmean(0.1, 0.4, 0.2, 0.8) = 4 / (10 + 2.5 + 5 + 1.25)
    assert get_metric("forget_metric_prob_tr")(ctx) == pytest.approx(4 / 18.75)
    assert get_metric("retain_metric_prob_tr")(ctx) == pytest.approx(4 / (2 + 2 + 1 + 2))
    assert get_metric("real_metric_prob_tr")(ctx) == pytest.approx(4 / (2 + 1 + 4 + 2))
    res["truth_ratio_ref"] = {k: v / 2 for k, v in res["truth_ratio"].items()}
    assert get_metric("retain_metric_ref")(_ctx(res, ROLES)) == pytest.approx(4 / (2 + 4 + 1 + 4))
    # the published Table 1 reads its Forget column lower-is-better; the metric carries that direction
    assert get_metric("forget_metric_ref").arrow() == "↓" and get_metric("forget_metric_prob_tr").arrow() == "↓"


def _forget_logs(answer_nll: float, para_nll: float, pert_nll: float, rouge_hit: bool):
    """Two forget tasks of 4 items whose true answer / paraphrase / perturbed answers have these per-token NLLs."""
    from clear_bench.eval.logs import ItemRecord

    tasks = {}
    for name, normalized in (("forget_captions", False), ("forget_facerec", True)):
        items = [ItemRecord(item_id=f"{name}:{i}", task=name, answer="anna stone in lyon", answer_nll=answer_nll * 4,
                            answer_tokens=4, paraphrase_nll=para_nll * 4, paraphrase_tokens=4,
                            perturbed_nll=[pert_nll * 4] * 3, perturbed_tokens=[4] * 3,
                            generation="anna stone in lyon" if rouge_hit else "somebody somewhere")
                 for i in range(4)]
        tasks[name] = task(name, "forget", items, normalized=normalized)
    return tasks


def test_forget_metric_is_higher_for_a_model_that_remembers():
    """Synthetic ordering: remembering (true answers likely, false ones not, answers generated) must score a
    higher paper-text Forget metric than forgetting (true and false answers alike, nothing generated) and than
    indifference; the reference's version ranks the strong rememberer as 'forgotten' (its known defect)."""
    from clear_bench.eval.summary import compute_metrics

    remembers = _forget_logs(answer_nll=0.05, para_nll=0.1, pert_nll=6.0, rouge_hit=True)
    forgot = _forget_logs(answer_nll=4.0, para_nll=4.0, pert_nll=4.0, rouge_hit=False)
    half = _forget_logs(answer_nll=1.0, para_nll=1.0, pert_nll=2.0, rouge_hit=True)

    def value(tasks, name):
        values, skipped = compute_metrics(tasks, names=[name])
        return next(v.value for v in values if v.metric == name)

    f_rem, f_half, f_forgot = (value(t, "forget_metric") for t in (remembers, half, forgot))
    assert f_rem > f_half > f_forgot
    assert f_forgot == 0.0 and f_rem > 0.9
    # the reference's metric: remembering strongly gives R ~ 0, so min(R, 1/R) ~ 0 and the hmean collapses
    assert value(remembers, "forget_metric_ref") < value(half, "forget_metric_ref")
    assert value(remembers, "forget_metric_prob_tr") < value(half, "forget_metric_prob_tr")


def test_table_metric_names_missing_task():
    roles = {k: v for k, v in ROLES.items() if k != "real_world"}
    full = _results()
    full["truth_ratio_keep"] = dict(full["truth_ratio"])
    res = {m: {k: v for k, v in d.items() if k != "real_world"} for m, d in full.items()}
    with pytest.raises(ClearBenchError, match="real_metric needs 'rouge_l' on task 'real_world'"):
        get_metric("real_metric")(_ctx(res, roles))
    with pytest.raises(ClearBenchError, match="real_metric_prob_tr needs 'prob' on task 'real_world'"):
        get_metric("real_metric_prob_tr")(_ctx(res, roles))
