"""What unlearning costs next to retraining from scratch: wall, CPU and GPU seconds, and their ratio.

`unlearn_cost_fraction` = cost of unlearning / cost of fine-tuning the gold (retain-only) model,
the retraining that exact unlearning would need. The NeurIPS 2023 machine unlearning challenge
(Triantafillou et al. 2024) scores an algorithm only if it runs in under 20 % of retraining's time:
above that, retraining is the simpler and exact answer. Lower is better.

The ratio compares like with like, in this order of preference:
  gpu   CUDA-event seconds of both (both measured on a GPU);
  cpu   process CPU seconds of both (all threads of this process: robust to other processes
        sharing the machine, unlike wall time);
  wall  wall-clock seconds (e.g. a gold model fine-tuned before CPU time was recorded).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Mapping

USEFUL_BELOW = 0.2  # the challenge's threshold
FRACTION = "unlearn_cost_fraction"


@dataclass(frozen=True)
class Cost:
    """Seconds spent on one unit of work; None where that clock was not read."""

    wall_s: float
    cpu_s: float | None = None
    gpu_s: float | None = None

    def to_dict(self, prefix: str = "") -> dict[str, float]:
        return {f"{prefix}{k}": round(v, 3) for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], prefix: str = "") -> "Cost":
        return cls(float(d[f"{prefix}wall_s"]), d.get(f"{prefix}cpu_s"), d.get(f"{prefix}gpu_s"))

    def __add__(self, other: "Cost") -> "Cost":
        def plus(a, b):
            return None if a is None or b is None else a + b

        return Cost(self.wall_s + other.wall_s, plus(self.cpu_s, other.cpu_s), plus(self.gpu_s, other.gpu_s))


class measure:
    """Context manager timing its block: `with measure() as m: ...; m.cost`.

    GPU seconds come from CUDA events on the current stream (synchronised at the end), and only
    when CUDA is available; CPU seconds are `time.process_time()` (this process, all threads).

    A resumable unit saves `state_dict()` (the seconds so far) with its checkpoint and a resumed one
    `load_state_dict`s it: the clock then continues from there, leaving out what the resumed process spent
    before that point (loading, set-up, the epoch that was redone), which an uninterrupted run spent once.
    """

    def __enter__(self) -> "measure":
        import torch

        self._cuda = torch.cuda.is_available()
        self._base = Cost(0.0, 0.0, 0.0 if self._cuda else None)
        self._start()
        self.cost: Cost | None = None
        return self

    def _start(self) -> None:
        self._gpu = None
        if self._cuda:
            import torch

            self._gpu = torch.cuda.Event(enable_timing=True)
            self._gpu.record()
        self._cpu, self._wall = time.process_time(), time.perf_counter()

    def elapsed(self) -> Cost:
        """Seconds so far (all segments)."""
        gpu_s = None
        if self._gpu is not None:
            import torch

            end = torch.cuda.Event(enable_timing=True)
            end.record()
            torch.cuda.synchronize()
            gpu_s = self._gpu.elapsed_time(end) / 1000.0
        return self._base + Cost(time.perf_counter() - self._wall, time.process_time() - self._cpu, gpu_s)

    def state_dict(self) -> dict[str, float]:
        return {k: v for k, v in asdict(self.elapsed()).items() if v is not None}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self._base = Cost.from_dict(state)
        self._start()

    def __exit__(self, *exc) -> None:
        self.cost = self.elapsed()


def cost_fraction(unlearn: Cost, retrain: Cost) -> tuple[float | None, str | None]:
    """(unlearning / retraining, basis) on the best clock both have (gpu, cpu, wall); (None, None) if
    retraining took no measurable time."""
    for basis in ("gpu", "cpu", "wall"):
        u, r = getattr(unlearn, f"{basis}_s"), getattr(retrain, f"{basis}_s")
        if u is not None and r is not None:
            return (u / r, basis) if r > 0 else (None, None)
    return None, None


def efficiency(unlearn: Cost, retrain: Cost | None) -> dict[str, Any]:
    """The efficiency entry of a run: both costs, the fraction and the clock it was read on."""
    out: dict[str, Any] = unlearn.to_dict("unlearn_")
    if retrain is not None:
        out.update(retrain.to_dict("retrain_"))
        value, basis = cost_fraction(unlearn, retrain)
        if value is not None:
            out[FRACTION] = round(value, 4)
            out["unlearn_cost_basis"] = basis
    return out


def summary_entries(eff: Mapping[str, Any] | None) -> dict[str, dict]:
    """Run-level metric entries (the shape `eval.summary` uses) for a run's efficiency record."""
    if not eff or eff.get(FRACTION) is None:
        return {}
    return {FRACTION: {"value": float(eff[FRACTION]), "metric": FRACTION, "task": None, "role": "all",
                       "higher_is_better": False, "ideal": None, "direction": "↓"}}
