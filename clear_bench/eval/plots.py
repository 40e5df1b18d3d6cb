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
        vals = [(s["metrics"].get(k) or {}).get("value") for k, _ in keys]
        xs = [i + j * width for i in range(len(keys))]
        bars = ax.bar(xs, [0.0 if v is None else v for v in vals], width, label=name)
        # a value that does not apply (gold's forget quality against itself) is written "n/a", never drawn as 0
        ax.bar_label(bars, labels=["n/a" if v is None else f"{v:.2f}" for v in vals], fontsize=7)
    ax.set_xticks([i + width * (len(summaries) - 1) / 2 for i in range(len(keys))], [l for _, l in keys], fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return _save(fig, out)


def tradeoff(points: Sequence[tuple], out: str | Path, xlabel: str = "Forget metric ↓",
             ylabel: str = "Retain metric ↑", title: str = "Forgetting vs. keeping") -> Path:
    """Scatter of (label, forget, retain[, shipped, collapsed]) points: the best methods sit in the top-left
    corner. Shipped demo records are hollow circles, the user's runs filled; collapsed runs are grey."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    for label, x, y, *flags in points:
        shipped, gone = (list(flags) + [False, False])[:2]
        color = "#aaaaaa" if gone else None
        kw = {"facecolors": "none", "edgecolors": color or "C0"} if shipped else {"color": color or "C1"}
        ax.scatter([x], [y], s=30, **kw)
        ax.annotate(label, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points", color=color or "black")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    return _save(fig, out)
