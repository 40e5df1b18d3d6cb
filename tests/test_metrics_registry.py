import pytest

from clear_bench.errors import ClearBenchError, UnknownNameError
from clear_bench.eval.metrics import MetricContext, get_metric, list_metrics, metric, resolve_order
from clear_bench.eval.metrics import registry


def test_unknown_metric_names_the_valid_ones():
    with pytest.raises(UnknownNameError, match=r"unknown metric 'truth_ration'.*Did you mean 'truth_ratio'"):
        get_metric("truth_ration")


def test_every_metric_is_documented_and_has_a_role():
    for name in list_metrics():
        spec = get_metric(name)
        assert spec.doc, f"metric {name} has no docstring"
        assert spec.roles and all(r in registry.ROLES for r in spec.roles)


def test_dependencies_come_first():
    order = [s.name for s in resolve_order(["model_utility", "privleak_min_k_pp"])]
    for dep, dependent in [("prob", "model_utility"), ("truth_ratio", "model_utility"), ("rouge_l", "model_utility"),
                           ("mia_min_k_pp_auc", "privleak_min_k_pp")]:
        assert order.index(dep) < order.index(dependent)
    assert [s.name for s in resolve_order()][: 5] == ["prob", "truth_ratio", "truth_ratio_keep", "truth_ratio_ref",
                                                    "rouge_l"]


def test_directions():
    prob = get_metric("prob")
    assert prob.direction("forget") is False and prob.direction("retain") is True
    assert prob.arrow("forget") == "↓" and prob.arrow("real") == "↑"
    assert get_metric("mia_loss_auc").arrow() == "→0.5"
    assert get_metric("forget_quality_ks").arrow() == "↑"


@pytest.fixture
def temp_metric():
    yield "tmp_needs_gold"
    registry._REGISTRY.pop("tmp_needs_gold", None)


def test_decorator_and_gold_requirement(temp_metric):
    @metric(temp_metric, higher_is_better=True, role="forget", needs=("gold",))
    def tmp(ctx):
        """A test metric."""
        return 1.0

    spec = get_metric(temp_metric)
    assert spec.role == "forget" and spec.needs == ("gold",)
    with pytest.raises(ClearBenchError, match=f"metric '{temp_metric}' needs the gold model's per-item logs"):
        spec(MetricContext(tasks={}))
    assert spec(MetricContext(tasks={}, gold={"x": None})) == 1.0
    with pytest.raises(ValueError, match="role"):
        metric("tmp_bad_role", higher_is_better=True, role="forgot")


def test_missing_dependency_result_is_an_error():
    with pytest.raises(ClearBenchError, match="'prob' has not been computed"):
        get_metric("model_utility")(MetricContext(tasks={}))
