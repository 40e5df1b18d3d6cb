"""Plots a person would rather look at than read: before/after bars of a run, forget-vs-retain trade-off."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Axis:
    """One axis of a trade-off plot: its label, and the ideal value to mark (a dashed line) with what it is."""

    label: str
    ideal: float | None = None
    ideal_label: str = ""


@dataclass(frozen=True)
class Point:
    """One row of a board on a trade-off plot. `kind`: "method", "target" or "gold"; `xerr` / `yerr`: half-widths
    of the 95 % interval over seeds (None for one seed); `n`: seeds merged; `front`: on the board's Pareto front
    (closest to gold's forgetting at the least retain cost), ringed."""

    label: str
    x: float
    y: float
    model: str = ""
    kind: str = "method"
    shipped: bool = False
    collapsed: bool = False
    xerr: float | None = None
    yerr: float | None = None
    n: int = 1
    front: bool = False


def _limits(values: Sequence[float]) -> tuple[float, float]:
    """Fixed [0, 1] (with a margin for the markers) for scores in [0, 1], whatever the points: a zoomed axis makes
    small gaps look large. A score outside [0, 1] (log forget quality) gets its range, padded."""
    if all(0.0 <= v <= 1.0 for v in values):
        return -0.04, 1.04
    lo, hi = min(values), max(values)
    pad = 0.08 * (hi - lo or 1.0)
    return lo - pad, hi + pad


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def _spread_labels(ax, texts, anchors) -> None:
    """Fallback when adjustText is not installed: move each label, in order, to the first of a ring of offsets
    (in points, growing) where its box overlaps no label placed before it and no marker."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    placed, marker_boxes = [], []
    for (px, py) in anchors:
        cx, cy = ax.transData.transform((px, py))
        marker_boxes.append(type("B", (), {"x0": cx - 4, "x1": cx + 4, "y0": cy - 4, "y1": cy + 4})())
    offsets = [(5, 4), (5, -10), (-5, 4), (-5, -10)]
    offsets += [(r * dx, r * dy) for r in (1.8, 2.8, 4.0, 5.5, 7.0) for dx, dy in
                ((4, 3), (4, -6), (-4, 3), (-4, -6), (0, 5), (0, -8), (6, 0), (-6, 0))]
    from matplotlib.transforms import offset_copy

    for text, (px, py) in zip(texts, anchors):
        for i, (dx, dy) in enumerate(offsets):
            text.set_transform(offset_copy(ax.transData, fig=fig, x=dx, y=dy, units="points"))
            text.set_ha("left" if dx >= 0 else "right")
            box = text.get_window_extent(renderer).expanded(1.05, 1.1)
            if not any(_overlap(box, b) for b in placed) and not any(_overlap(box, m) for m in marker_boxes):
                break
        placed.append(text.get_window_extent(renderer).expanded(1.05, 1.1))
        if i >= 4:  # moved off its point: a leader line says whose label it is
            cx, cy = ax.transData.transform((px, py))
            scale = fig.dpi / 72
            end = ax.transData.inverted().transform((cx + dx * scale, cy + (dy + 3) * scale))
            ax.plot([px, end[0]], [py, end[1]], color="#888888", lw=0.5, zorder=2)


def overlapping_labels(ax, texts) -> int:
    """How many pairs of `texts` overlap on the drawn figure."""
    renderer = ax.figure.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in texts]
    return sum(_overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def layout_labels(ax, texts, anchors) -> str:
    """Move `texts` so that they do not overlap: adjustText (the `plots` extra) with leader lines, and the ring
    fallback `_spread_labels` when adjustText is not installed or leaves an overlap. Returns which placed them."""
    try:
        from adjustText import adjust_text
    except ImportError:
        _spread_labels(ax, texts, anchors)
        return "fallback"
    xs, ys = [a[0] for a in anchors], [a[1] for a in anchors]
    adjust_text(texts, x=xs, y=ys, ax=ax, arrowprops=dict(arrowstyle="-", color="#888888", lw=0.5),
                expand=(1.6, 1.8), force_text=(0.6, 0.9), force_static=(0.3, 0.5), max_move=None,
                ensure_inside_axes=True)
    if overlapping_labels(ax, texts):
        for patch in list(ax.patches):  # adjustText's leader lines no longer point at the moved labels
            if type(patch).__name__ == "FancyArrowPatch":
                patch.remove()
        _spread_labels(ax, texts, anchors)
        return "fallback"
    return "adjustText"


MARKERS = {"target": ("*", 160, "target (before)"), "gold": ("D", 60, "gold (retain only)")}


def tradeoff_figure(points: Sequence[Point], x: Axis, y: Axis, title: str):
    """The figure of `tradeoff` (returned open, for tests): (fig, ax, texts, layout)."""
    plt = _pyplot()
    from matplotlib.lines import Line2D

    fig, ax = plt.subplots(figsize=(7.2, 5.4))
    models = sorted({p.model for p in points})
    color = {m: f"C{i % 10}" for i, m in enumerate(models)}
    texts, anchors = [], []
    for p in points:
        c = "#9a9a9a" if p.collapsed else color[p.model]
        if p.xerr or p.yerr:
            ax.errorbar([p.x], [p.y], xerr=p.xerr, yerr=p.yerr, fmt="none", ecolor=c, elinewidth=0.8, capsize=2)
        if p.kind in MARKERS:
            marker, size, _ = MARKERS[p.kind]
            ax.scatter([p.x], [p.y], marker=marker, s=size, color=c, edgecolors="black", linewidths=0.6, zorder=4)
        elif p.collapsed:
            ax.scatter([p.x], [p.y], marker="x", s=36, color=c, zorder=3)
        else:
            kw = {"facecolors": "none", "edgecolors": c} if p.shipped else {"color": c}
            ax.scatter([p.x], [p.y], s=34, zorder=3, **kw)
            if p.front:
                ax.scatter([p.x], [p.y], s=110, facecolors="none", edgecolors="#c07000", linewidths=1.2, zorder=3)
        label = p.label + (" (collapsed)" if p.collapsed else "") + (f" n={p.n}" if p.n > 1 else "")
        texts.append(ax.text(p.x, p.y, label, fontsize=7, color="#777777" if p.collapsed else "black",
                             fontstyle="italic" if p.kind != "method" else "normal", zorder=5))
        anchors.append((p.x, p.y))
    for axis, line in ((x, ax.axvline), (y, ax.axhline)):
        if axis.ideal is not None:
            line(axis.ideal, color="#2a8a2a", ls="--", lw=1, zorder=1)
    ax.set_xlim(*_limits([p.x for p in points] + ([x.ideal] if x.ideal is not None else [])))
    ax.set_ylim(*_limits([p.y for p in points] + ([y.ideal] if y.ideal is not None else [])))
    ax.set_xlabel(x.label)
    ax.set_ylabel(y.label)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    handles = [Line2D([], [], marker="o", ls="", color=color[m], label=f"model {m}") for m in models]
    kinds = {p.kind for p in points}
    handles += [Line2D([], [], marker=MARKERS[k][0], ls="", color="#555555", markeredgecolor="black",
                       markersize=9 if k == "target" else 6, label=MARKERS[k][2]) for k in MARKERS if k in kinds]
    if any(p.kind == "method" and not p.collapsed and not p.shipped for p in points):
        handles.append(Line2D([], [], marker="o", ls="", color="#555555", label="run (yours)"))
    if any(p.kind == "method" and not p.collapsed and p.shipped for p in points):
        handles.append(Line2D([], [], marker="o", ls="", markerfacecolor="none", color="#555555",
                              label="run (shipped demo)"))
    if any(p.front for p in points):
        handles.append(Line2D([], [], marker="o", ls="", markersize=10, markerfacecolor="none",
                              markeredgecolor="#c07000", label="Pareto front (◆ in the table)"))
    if any(p.collapsed for p in points):
        handles.append(Line2D([], [], marker="x", ls="", color="#9a9a9a", label="collapsed (ranked last)"))
    for axis in (x, y):
        if axis.ideal is not None and axis.ideal_label:
            handles.append(Line2D([], [], color="#2a8a2a", ls="--", label=axis.ideal_label))
    if any(p.xerr or p.yerr for p in points):
        handles.append(Line2D([], [], color="#555555", lw=0.8, label="95 % t-interval over seeds"))
    ax.legend(handles=handles, fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.tight_layout()
    layout = layout_labels(ax, texts, anchors)
    return fig, ax, texts, layout


def tradeoff(points: Sequence[Point], out: str | Path, x: Axis, y: Axis, title: str, diagonal: bool = False) -> Path:
    """Scatter of a board's rows (`Point`s): runs by model colour (filled: yours, hollow: shipped demo records,
    grey x: collapsed), the target (star) and gold (diamond) references, error bars where seeds were merged, the
    ideal of each axis dashed, labels kept apart, fixed axis ranges (`_limits`); `diagonal`: y = x dotted (two
    readings of one score, e.g. forget before and after an attack)."""
    fig, ax, *_ = tradeoff_figure(points, x, y, title)
    if diagonal:
        lo, hi = ax.get_xlim()
        ax.plot([lo, hi], [lo, hi], color="#777777", linewidth=0.8, linestyle=":", zorder=1)
    fig.savefig(out, dpi=120, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return Path(out)


def sequence_lines(series: Mapping[str, Sequence[float | None]], xlabels: Sequence[str], out: str | Path,
                   title: str) -> Path:
    """One line per metric over a sequence of requests (`xlabels`: one per point, e.g. the target, then each
    request); a value that was not measured (None) leaves a gap."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.0, 3.8))
    xs = list(range(len(xlabels)))
    for i, (label, values) in enumerate(series.items()):
        ys = [float("nan") if v is None else v for v in values]
        ax.plot(xs, ys, marker="o", linestyle="--" if label.startswith("Forget, the") else "-", label=label,
                color=f"C{i}")
    ax.set_xticks(xs, list(xlabels), fontsize=8)
    ax.set_ylim(-0.05, 1.05)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, out)
