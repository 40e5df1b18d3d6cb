"""Unlearning methods of the visual track (CLEAR Table 5), one file each, in their own registry."""
from .base import METHODS, UnlearnTask, VisualMethod, available, build_method, get_method, register

__all__ = ["METHODS", "UnlearnTask", "VisualMethod", "available", "build_method", "get_method", "register"]
