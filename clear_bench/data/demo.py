"""Where every cached artefact lives (`CLEAR_BENCH_CACHE`), and the demo dataset's version. The demo dataset itself
is built by the generation pipeline (`generation/demo.py`): the data layer does not import it."""
from __future__ import annotations

import os
from pathlib import Path

DEMO_DATA_VERSION = 3  # bump when the demo preset's content changes, so caches are rebuilt (3: faces/)


def cache_dir() -> Path:
    """The cache root: `CLEAR_BENCH_CACHE`, else ~/.cache/clear-bench."""
    return Path(os.environ.get("CLEAR_BENCH_CACHE", Path.home() / ".cache" / "clear-bench"))

