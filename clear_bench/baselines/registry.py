"""Unlearning methods by name; users plug in their own without forking.

Three ways to name a method: a registered name (`npo`), a dotted path to a class
(`mypkg.mymodule:MyMethod`), or a name a package registers under the entry-point group
`clear_bench.methods`.
"""
from __future__ import annotations

from importlib.metadata import entry_points

from ..errors import ClearBenchError, UnknownNameError
from ..registry import Registry, import_class

METHODS: Registry[type] = Registry("method")  # the built-in methods and those registered in-process
ENTRY_POINT_GROUP = "clear_bench.methods"


def register(cls):
    """Class decorator: make a method available under `cls.name`."""
    from .base import UnlearningMethod

    if not (isinstance(cls, type) and issubclass(cls, UnlearningMethod)):
        raise TypeError(f"{cls!r} must subclass clear_bench.baselines.UnlearningMethod")
    METHODS.add(cls.name, cls)
    return cls


# The built-in methods: each lives in `baselines/<name>.py` and registers under its file's name
# (tests/test_registry.py checks the two agree), so listing them imports nothing: `--help` stays fast.
BUILTIN = ("dpo", "ga", "gd", "idk", "kl", "llmu", "npo", "retain_ft", "rmu", "scrub", "simnpo", "sisa", "sku")


def _builtin() -> None:
    from importlib import import_module

    for name in BUILTIN:
        import_module(f".{name}", __package__)


def available() -> list[str]:
    """Every method name: built-in, registered in-process and entry points (sorted); imports no method."""
    names = set(BUILTIN) | set(METHODS)
    names |= {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return sorted(names)


def get_method(name: str) -> type:
    """The method class for a registered name, an entry-point name or `module:Class`."""
    from .base import UnlearningMethod

    _builtin()
    if name in METHODS:
        return METHODS[name]
    if ":" in name:
        return import_class(name, UnlearningMethod, "method", "clear_bench.baselines.UnlearningMethod")
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            return ep.load()
    raise UnknownNameError("method", name, available())


def build_method(name: str, args: dict):
    """Instantiate a method with `args` (--method-arg KEY=VALUE strings, or typed values from `demo_overrides`)
    overriding its Config defaults. Every setting is checked here, before any fine-tuning: unknown keys, values
    that do not parse as the field's type, non-finite numbers and values outside the range the field declares
    (`config.setting`), for the built-in methods and plug-ins alike (`config.build_config`)."""
    from ..config import build_config
    from .base import UnlearningMethod

    cls = get_method(name)
    if not cls.retrains and cls.loss is UnlearningMethod.loss:  # found now, not after fine-tuning and evaluation
        raise ClearBenchError(f"method '{name}' ({cls.__module__}.{cls.__qualname__}) defines no "
                              "loss(self, model, batch, ctx); an unlearning method must (or set retrains = True)")
    return cls(build_config(cls.Config, args, f"method '{name}'"))
