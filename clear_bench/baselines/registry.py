"""Unlearning methods by name; users plug in their own without forking.

Three ways to name a method: a registered name (`npo`), a dotted path to a class
(`mypkg.mymodule:MyMethod`), or a name a package registers under the entry-point group
`clear_bench.methods`.
"""
from __future__ import annotations

import dataclasses
import importlib
import os
import sys
from importlib.metadata import entry_points

from ..errors import ClearBenchError, UnknownNameError
from ..registry import Registry

METHODS: Registry[type] = Registry("method")  # the built-in methods and those registered in-process
ENTRY_POINT_GROUP = "clear_bench.methods"


def register(cls):
    """Class decorator: make a method available under `cls.name`."""
    from .base import UnlearningMethod

    if not (isinstance(cls, type) and issubclass(cls, UnlearningMethod)):
        raise TypeError(f"{cls!r} must subclass clear_bench.baselines.UnlearningMethod")
    METHODS.add(cls.name, cls)
    return cls


def _builtin() -> None:
    from . import (dpo, ga, gd, idk, kl, llmu, npo, retain_ft, rmu, scrub, simnpo, sisa, sku)  # noqa: F401


def available() -> list[str]:
    """Every method name: built-in, registered in-process and entry points (sorted)."""
    _builtin()
    names = set(METHODS)
    names |= {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return sorted(names)


def get_method(name: str) -> type:
    """The method class for a registered name, an entry-point name or `module:Class`."""
    from .base import UnlearningMethod

    _builtin()
    if name in METHODS:
        return METHODS[name]
    if ":" in name:
        module, _, attr = name.partition(":")
        # `python -m` puts the working folder on sys.path, console scripts (clear-eval) do not: a mymethods.py
        # next to the user must import either way
        if os.getcwd() not in sys.path and "" not in sys.path:
            sys.path.append(os.getcwd())
        try:
            cls = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as e:
            raise ClearBenchError(f"cannot import method '{name}': {e}") from e
        if not (isinstance(cls, type) and issubclass(cls, UnlearningMethod)):
            raise ClearBenchError(f"'{name}' is not a subclass of clear_bench.baselines.UnlearningMethod")
        return cls
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            return ep.load()
    raise UnknownNameError("method", name, available())


def _parse_bool(raw) -> bool:
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)  # a typo must not read as False


def build_method(name: str, args: dict):
    """Instantiate a method with `args` (--method-arg KEY=VALUE strings, or typed values from `demo_overrides`)
    overriding its Config defaults. Every setting is checked here, before any fine-tuning: unknown keys, values
    that do not parse as the field's type, non-finite numbers and values outside the range the field declares
    (`config.setting`), for the built-in methods and plug-ins alike."""
    from ..config import check_settings
    from .base import UnlearningMethod

    cls = get_method(name)
    if not cls.retrains and cls.loss is UnlearningMethod.loss:  # found now, not after fine-tuning and evaluation
        raise ClearBenchError(f"method '{name}' ({cls.__module__}.{cls.__qualname__}) defines no "
                              "loss(self, model, batch, ctx); an unlearning method must (or set retrains = True)")
    cfg_cls = cls.Config
    if not dataclasses.is_dataclass(cfg_cls):
        raise ClearBenchError(f"method '{name}': its Config ({cfg_cls!r}) must be a dataclass")
    known = {f.name: f for f in dataclasses.fields(cfg_cls)}
    defaults = cfg_cls()
    values = {}
    for key, raw in args.items():
        if key not in known:
            raise ClearBenchError(f"method '{name}' has no hyper-parameter '{key}'; it has: "
                                  f"{', '.join(known) or 'none'}")
        typ = type(getattr(defaults, key))
        try:
            values[key] = _parse_bool(raw) if typ is bool else typ(raw)
        except (TypeError, ValueError):
            raise ClearBenchError(f"method '{name}': {key}={raw!r} is not a valid {typ.__name__}"
                                  f"{' (true/false)' if typ is bool else ''}") from None
    config = cfg_cls(**values)
    check_settings(config, name=lambda f: f"--method-arg {f}")
    return cls(config)
