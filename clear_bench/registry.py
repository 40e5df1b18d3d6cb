"""One small registry type for every kind of named component: methods, metrics, tasks, presets and
generation backends. `clear-bench ls KIND` prints what each holds.

A `Registry` is a read-only mapping from name to object that keeps registration order. Looking up
an unknown name with `get` raises `UnknownNameError`, whose one line names the valid ones.
"""
from __future__ import annotations

import importlib
import inspect
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Generic, TypeVar

from .errors import ClearBenchError, UnknownNameError

T = TypeVar("T")
ABBREVIATIONS = (" al.", "e.g.", "i.e.", " cf.", " vs.", " Fig.", " Eq.", " Sec.", " App.", " No.")
_MISSING = object()


def first_line(obj) -> str:
    """The one-line doc `ls` prints: the first sentence of the first paragraph of `obj` (a string) or of its
    own docstring ('' when it has none; a class does not inherit its base's here)."""
    if isinstance(obj, str):
        doc = obj
    elif isinstance(obj, type):
        doc = inspect.cleandoc(obj.__dict__.get("__doc__") or "")
    else:
        doc = inspect.getdoc(obj) or ""
    paragraph = " ".join(line.strip() for line in doc.strip().split("\n\n")[0].splitlines())
    for m in re.finditer(r"\. ", paragraph):  # the first full stop that is not an abbreviation's ("Yao et al. 2023")
        if not paragraph[: m.start() + 1].endswith(ABBREVIATIONS):
            return paragraph[: m.start() + 1]
    return paragraph


def import_class(spec: str, base: type, what: str, base_name: str) -> type:
    """The class a `module:Class` plug-in name points at, a subclass of `base`; one-line `ClearBenchError`s
    otherwise ("cannot import {what} '{spec}'", "... is not a subclass of {base_name}")."""
    module, _, attr = spec.partition(":")
    # `python -m` puts the working folder on sys.path, console scripts (clear-eval) do not: a mymethods.py next to
    # the user must import either way
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.append(os.getcwd())
    try:
        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise ClearBenchError(f"cannot import {what} '{spec}': {e}") from e
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise ClearBenchError(f"'{spec}' is not a subclass of {base_name}")
    return cls


class Registry(Mapping, Generic[T]):
    """Objects of one `kind` by name, in registration order.

    unique: registering a second, different object under a taken name raises `ValueError` (metrics);
        otherwise the later one replaces it (a plug-in may override a built-in method).
    """

    def __init__(self, kind: str, items: Mapping[str, T] | Iterable[tuple[str, T]] = (), unique: bool = False):
        self.kind = kind
        self.unique = unique
        self._items: dict[str, T] = {}
        for name, obj in (items.items() if isinstance(items, Mapping) else items):
            self.add(name, obj)

    def add(self, name: str, obj: T) -> T:
        """Register `obj` under `name` and return it."""
        if self.unique and name in self._items and self._items[name] is not obj:
            raise ValueError(f"{self.kind} '{name}' is already registered ({self._items[name]!r})")
        self._items[name] = obj
        return obj

    def register(self, name: str, obj: T = _MISSING) -> Callable[[T], T] | T:  # type: ignore[assignment]
        """`@registry.register("name")` as a decorator, or `registry.register("name", obj)`."""
        if obj is not _MISSING:
            return self.add(name, obj)
        return lambda o: self.add(name, o)

    def pop(self, name: str, default=None):
        """Drop `name` and return its object (tests that register a temporary entry)."""
        return self._items.pop(name, default)

    def get(self, name: str, default=_MISSING) -> T:  # type: ignore[override]
        """The object called `name`; `UnknownNameError` naming the valid ones (or `default`, if given)."""
        if name in self._items:
            return self._items[name]
        if default is not _MISSING:
            return default
        raise UnknownNameError(self.kind, name, self._items)

    def names(self) -> list[str]:
        """Every name, in registration order."""
        return list(self._items)

    def doc(self, name: str) -> str:
        """The one-line doc of `name`'s entry (its docstring's first line, or its `doc` attribute)."""
        obj = self.get(name)
        return first_line(getattr(obj, "doc", None) or obj)

    def __getitem__(self, name: str) -> T:
        return self._items[name]

    def __contains__(self, name) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"
