"""transformers renamed a forward's `past_key_values` argument (and output field) to `cache` (5.2x; the old name
warns and goes in 5.40). We support both: the installed version decides, per model class."""
from __future__ import annotations

import inspect
from functools import lru_cache


@lru_cache(maxsize=None)
def _cache_arg(forward_owner: type) -> str:
    params = inspect.signature(forward_owner.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def cache_kwargs(model, cache) -> dict:
    """{"cache": cache} or {"past_key_values": cache}, whichever `model.forward` takes."""
    return {_cache_arg(type(model)): cache}


def output_cache(out):
    """The key/value cache a forward returned, under either name (None when it returned none)."""
    for name in ("cache", "past_key_values"):
        if name in out.keys():
            return out[name]
    return None
