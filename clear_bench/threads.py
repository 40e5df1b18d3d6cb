"""How many CPU threads a run uses, chosen once at the start and said in its first lines.

torch's default is one OpenMP thread per core. On the tiny demo models the work per operation is too small to
split: on a 2-core machine shared with another job, two threads spin-wait for each other (~46 s per target
epoch with 2 threads vs ~11 s with 1 at the same load; benchmarks/bench_threads.py measures it on yours). So:
`--threads N` (or OMP_NUM_THREADS) wins; a tiny model gets 1; a real model on the CPU gets the cores not
already busy (os.getloadavg), at least 1. On a GPU the count matters little and the same rule applies.
"""
from __future__ import annotations

import logging
import math
import os

log = logging.getLogger("clear_bench")


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def idle_cores() -> int:
    """Cores not busy with other work, from the 1-minute load average; at least 1."""
    cores = usable_cores()
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return cores
    return max(1, cores - math.floor(load + 0.5))


def choose_threads(requested: int | None, tiny: bool) -> tuple[int, str]:
    """(threads, why): `requested` (--threads), else OMP_NUM_THREADS, else 1 for a tiny model, else idle cores."""
    if requested is not None:
        return requested, "--threads"
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) >= 1:
        return int(env), "OMP_NUM_THREADS"
    if tiny:
        return 1, "tiny model: one thread is fastest; --threads N to change"
    n = idle_cores()
    return n, f"{n} of {usable_cores()} cores idle; --threads N to change"


def apply_threads(requested: int | None, tiny: bool) -> int:
    """Set torch's intra-op threads by `choose_threads` and log the choice; returns the count."""
    import torch

    n, why = choose_threads(requested, tiny)
    torch.set_num_threads(n)
    log.info("threads: %d (%s)", n, why)
    return n


def is_tiny(model: str | None, preset: str | None) -> bool:
    """Whether a run's model is one of the tiny from-config models (the demo preset's, or named 'tiny...')."""
    if model:
        return model.startswith("tiny")
    return preset == "demo"
