"""Small name -> factory registries for swappable backends (faces, attributes, scenes, ...)."""
from __future__ import annotations

from typing import Callable, Generic, TypeVar

from ..errors import UnknownNameError

F = TypeVar("F", bound=Callable)


class Registry(Generic[F]):
    """Backends of one kind, registered by name; an unknown name raises `UnknownNameError`."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, F] = {}

    def register(self, name: str) -> Callable[[F], F]:
        def deco(factory: F) -> F:
            self._items[name] = factory
            return factory

        return deco

    def get(self, name: str) -> F:
        if name not in self._items:
            raise UnknownNameError(self.kind, name, self._items)
        return self._items[name]

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        return name in self._items
