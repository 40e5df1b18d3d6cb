"""Evaluation metrics: pure functions over per-item logs, one file per family, all registered.

Importing this package registers every family. Look metrics up with `get_metric(name)` and list
them with `list_metrics()` (every registered one, recorded ones too: `METRICS`); `arrow_for(key)`
gives a summary key's direction arrow; `resolve_order()` sorts them so that dependencies come first.
"""
# Imported for registration; this order is the order reports list the metrics in.
from . import probability, truth_ratio, rouge, forget_quality, utility, privacy, cost, tofu, tofu_ref  # noqa: F401,I001
from .registry import (METRICS, ROLES, MetricContext, MetricSpec, TaskLog, arrow_for, get_metric, list_metrics,
                       metric, recorded_metric, resolve_order)

__all__ = ["METRICS", "ROLES", "MetricContext", "MetricSpec", "TaskLog", "arrow_for", "get_metric", "list_metrics",
           "metric", "recorded_metric", "resolve_order"]
