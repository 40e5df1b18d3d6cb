"""Unlearning methods, one small file each, looked up by name in a registry users can extend."""
from .base import MethodConfig, UnlearnContext, UnlearnInputs, UnlearningMethod
from .registry import available, build_method, get_method, register

__all__ = ["MethodConfig", "UnlearnContext", "UnlearnInputs", "UnlearningMethod", "available", "build_method",
           "get_method", "register"]
