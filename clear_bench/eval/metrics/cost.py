"""The cost of unlearning next to retraining (`clear_bench.efficiency`): recorded by the job from its
clocks, not computed from per-item logs, and registered here so that it has a direction in tables and
is listed by `clear-bench ls metrics`."""
from __future__ import annotations

from ...efficiency import FRACTION, USEFUL_BELOW
from .registry import recorded_metric

recorded_metric(FRACTION, higher_is_better=False, role="all", bounds=(0.0, None),
                doc=f"cost of unlearning / cost of fine-tuning the gold model (retraining); useful below "
                    f"{USEFUL_BELOW:g} (NeurIPS 2023 unlearning challenge)")
