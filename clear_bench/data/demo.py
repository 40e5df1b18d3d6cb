"""Where the built-in demo dataset and every cached artefact live (`CLEAR_BENCH_CACHE`)."""
from __future__ import annotations

import os
from pathlib import Path

DEMO_DATA_VERSION = 3  # bump when the demo preset's content changes, so caches are rebuilt (3: faces/)


def cache_dir() -> Path:
    """The cache root: `CLEAR_BENCH_CACHE`, else ~/.cache/clear-bench."""
    return Path(os.environ.get("CLEAR_BENCH_CACHE", Path.home() / ".cache" / "clear-bench"))


def demo_data_dir(seed: int = 0) -> Path:
    """The built-in demo dataset (a folder with clear/ and tofu/ in the Hub layout), generated on first use by
    the procedural pipeline."""
    from ..generation import build_demo

    out = cache_dir() / f"demo-data-v{DEMO_DATA_VERSION}-seed{seed}"
    if not (out / "manifest.json").exists():
        build_demo(out, seed=seed)
    return out
