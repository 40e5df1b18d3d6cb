"""Name -> factory registries for swappable generation backends (faces, attributes, scenes, ...): the one
`clear_bench.registry.Registry` type, re-exported here for the backends that import it from this module."""
from __future__ import annotations

from ..registry import Registry

__all__ = ["Registry"]
