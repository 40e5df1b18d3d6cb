"""Evaluation metrics: pure functions over per-item logs, one file per family, all registered.

Importing this package registers every family. Look metrics up with `get_metric(name)` and list
them with `list_metrics()`; `resolve_order()` sorts them so that dependencies come first.
"""
# Imported for registration; this order is the order reports list the metrics in.
from . import probability, truth_ratio, rouge, forget_quality, utility, privacy, tofu  # noqa: F401,I001
from .registry import (ROLES, MetricContext, MetricSpec, TaskLog, get_metric, list_metrics, metric,
                       resolve_order)

__all__ = ["ROLES", "MetricContext", "MetricSpec", "TaskLog", "get_metric", "list_metrics", "metric",
           "resolve_order"]
