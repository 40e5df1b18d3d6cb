"""`config.setting`: a field's range is declared once and checked by `check_settings`."""
from dataclasses import dataclass, field

import pytest

from clear_bench.config import check_settings, setting
from clear_bench.errors import ClearBenchError


@dataclass
class Inner:
    temperature: float = setting(2.0, gt=0)


@dataclass
class Cfg:
    beta: float = setting(0.1, gt=0)
    weight: float = setting(1.0, ge=0, le=10)
    steps: int = setting(3, ge=1, note="optimiser steps")
    mode: str = setting("max", choices=("max", "min"))
    free: float = 1.0
    names: list = field(default_factory=list)
    inner: Inner = field(default_factory=Inner)


def test_defaults_pass():
    check_settings(Cfg())


@pytest.mark.parametrize("kwargs, message", [
    ({"beta": 0}, "--method-arg beta must be > 0 (got 0)"),
    ({"weight": -5}, "--method-arg weight must be in [0, 10] (got -5)"),
    ({"steps": 0}, "--method-arg steps must be >= 1 (optimiser steps) (got 0)"),
    ({"mode": "mean"}, "--method-arg mode must be one of max, min (got mean)"),
    ({"free": float("nan")}, "--method-arg free must be a finite number (got nan)"),
    ({"beta": float("inf")}, "--method-arg beta must be a finite number (got inf)"),
    ({"inner": Inner(temperature=-1.0)}, "--method-arg temperature must be > 0 (got -1.0)"),
])
def test_out_of_range_is_one_line_naming_the_setting(kwargs, message):
    with pytest.raises(ClearBenchError) as e:
        check_settings(Cfg(**kwargs), name=lambda f: f"--method-arg {f}")
    assert str(e.value) == message


def test_unset_is_skipped_unless_required():
    @dataclass
    class Opt:
        lr: float | None = setting(None, gt=0)

    check_settings(Opt())
    check_settings(Opt(lr=1e-3))
    with pytest.raises(ClearBenchError):
        check_settings(Opt(lr=-1.0))
