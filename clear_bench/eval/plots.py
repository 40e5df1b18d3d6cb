"""Plots a person would rather look at than read: before/after bars of a run, forget-vs-retain trade-off."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

HEADLINE_BARS = (("forget_metric", "Forget ↓"), ("retain_metric", "Retain ↑"), ("real_metric", "Real ↑"),
                 ("model_utility", "Utility ↑"), ("forget_captions/forget_quality_js", "Forget quality (1−JS) ↑"))


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, out: str | Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return Path(out)


def run_bars(summaries: Mapping[str, Mapping], out: str | Path, title: str,
             bars: Sequence[tuple[str, str]] = HEADLINE_BARS) -> Path:
    """Grouped bars of the headline metrics (`bars`: (key, label) pairs, a track's own) for each labelled
    summary (e.g. target / unlearned / gold)."""
    plt = _pyplot()
    keys = [(k, label) for k, label in bars if any(k in s["metrics"] for s in summaries.values())]
    fig, ax = plt.subplots(figsize=(1.6 * len(keys) + 2, 3.6))
    width = 0.8 / max(1, len(summaries))
    for j, (name, s) in enumerate(summaries.items()):
        vals = [(s["metrics"].get(k) or {}).get("value") or 0.0 for k, _ in keys]
        bars = ax.bar([i + j * width for i in range(len(keys))], vals, width, label=name)
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.set_xticks([i + width * (len(summaries) - 1) / 2 for i in range(len(keys))], [l for _, l in keys], fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return _save(fig, out)


def tradeoff(points: Sequence[tuple[str, float, float]], out: str | Path, xlabel: str = "Forget metric ↓",
             ylabel: str = "Retain metric ↑", title: str = "Forgetting vs. keeping") -> Path:
    """Scatter of (label, forget, retain) points: the best methods sit in the top-left corner."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    for label, x, y in points:
        ax.scatter([x], [y], s=30)
        ax.annotate(label, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    return _save(fig, out)
