"""Unlearning methods, one small file each, looked up by name in a registry users can extend."""
from .base import MethodConfig, UnlearnContext, UnlearnInputs, UnlearningMethod
from .registry import available, get_method, register

__all__ = ["MethodConfig", "UnlearnContext", "UnlearnInputs", "UnlearningMethod", "available", "get_method",
           "register"]
