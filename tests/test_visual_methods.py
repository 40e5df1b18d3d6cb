"""The visual methods on the shared machinery: one Registry, one SGD config base whose ranges every method's
settings inherit, checked (with the method arguments) before any work."""
import dataclasses
import inspect

import pytest

from clear_bench.config import check_settings, field_docs
from clear_bench.errors import ClearBenchError, UnknownNameError
from clear_bench.registry import Registry
from clear_bench.visual.methods import METHODS, available, build_method, get_method
from clear_bench.visual.methods.base import SGDConfig
from clear_bench.visual.metrics import METRICS

TRAINING = sorted(set(available()) - {"original", "gold"})


def test_the_visual_registries_are_the_shared_type():
    assert isinstance(METHODS, Registry) and isinstance(METRICS, Registry)
    with pytest.raises(UnknownNameError, match=r"unknown visual method 'scrubb'.*Did you mean 'scrub'"):
        get_method("scrubb")


@pytest.mark.parametrize("name", TRAINING)
def test_every_training_method_extends_the_sgd_base_and_documents_every_field(name):
    cls = get_method(name)
    assert issubclass(cls.Config, SGDConfig)
    check_settings(cls.Config())  # its defaults are in range
    docs = field_docs(cls.Config)
    assert set(docs) == {f.name for f in dataclasses.fields(cls.Config)}, name
    assert "getattr(" not in inspect.getsource(inspect.getmodule(cls))  # fields are read, not guessed


@pytest.mark.parametrize("args, message", [
    ({"epochs": "-1"}, "--method-arg epochs must be >= 1 (got -1)"),
    ({"lr": "1e308"}, "--method-arg lr must be in (0, 10]"),
    ({"lr": "0"}, "--method-arg lr must be in (0, 10]"),
    ({"lr": "nan"}, "--method-arg lr must be a finite number (got nan)"),
    ({"momentum": "1"}, "--method-arg momentum must be in [0, 1) (got 1.0)"),
    ({"batch_size": "0"}, "--method-arg batch_size must be >= 1 (got 0)"),
    ({"schedule": "linear"}, "--method-arg schedule must be one of constant, cosine (got linear)"),
    ({"balance": "0"}, "--method-arg balance must be >= 1 (got 0)"),
    ({"train_mode": "maybe"}, "train_mode='maybe' is not a valid bool (true/false)"),
    ({"betta": "1"}, "visual method 'dpo' has no hyper-parameter 'betta'"),
])
def test_bad_method_args_are_one_line_errors(args, message):
    with pytest.raises(ClearBenchError) as e:
        build_method("dpo", args)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_a_preset_default_is_checked_too_and_args_override_it():
    assert build_method("ga", {"lr": "0.5"}, {"batch_size": 32, "not_a_field": 1}).config.batch_size == 32
    with pytest.raises(ClearBenchError, match="batch_size must be >= 1"):
        build_method("ga", {}, {"batch_size": 0})


def test_preset_method_settings_name_real_methods_and_fields_and_yield_to_method_args():
    from clear_bench.visual.presets import VISUAL_PRESETS

    demo = VISUAL_PRESETS["demo"]
    assert {"ga", "gd", "llmu", "dpo", "scrub", "sparsity"} <= set(demo.method_settings)
    for preset in VISUAL_PRESETS.values():
        for name, settings in preset.method_settings.items():
            assert name in available(), name
            config = build_method(name, {}, preset.defaults_for(name)).config
            assert {k: getattr(config, k) for k in settings} == settings, name  # a typo would be dropped silently
            assert config.batch_size == preset.method_defaults.get("batch_size", config.batch_size)
    assert build_method("ga", {"lr": "0.5"}, demo.defaults_for("ga")).config.lr == 0.5
    assert build_method("ga", {}, VISUAL_PRESETS["paper"].defaults_for("ga")).config.lr == 0.1  # the reference's
