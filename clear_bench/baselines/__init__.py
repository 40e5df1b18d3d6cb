"""Unlearning methods, one small file each, looked up by name in a registry users can extend.

The names below load on first use (PEP 562 `__getattr__`), so listing methods for `--help` does not import torch.
"""
from .registry import available, build_method, get_method, register

__all__ = ["MethodConfig", "UnlearnContext", "UnlearnInputs", "UnlearningMethod", "available", "build_method",
           "get_method", "register"]


def __getattr__(name: str):
    if name in ("MethodConfig", "UnlearnContext", "UnlearnInputs", "UnlearningMethod"):
        from . import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
