"""Trade-off plots a reader can use (issue 27.3): a legend, labels that do not overprint (adjustText, or the ring
fallback without it), the target and gold points, fixed axis ranges and the ideal marked (U-LIRA's 0.5)."""
import sys

import pytest

from clear_bench.eval.plots import Axis, Point, overlapping_labels, tradeoff_figure


def _points():
    # idk and dpo on the same spot (the "iddpo"), and a crowd near the target
    pts = [Point("idk", 0.0, 0.78, model="tiny", collapsed=True), Point("dpo", 0.0, 0.78, model="tiny", collapsed=True),
           Point("target (before)", 0.87, 0.84, model="tiny", kind="target"),
           Point("gold (retain only)", 0.0, 0.83, model="tiny", kind="gold"),
           Point("npo", 0.5, 0.6, model="tiny-qwen2vl", xerr=0.05, yerr=0.02, n=2, front=True)]
    pts += [Point(name, 0.85 + 0.005 * i, 0.82 - 0.004 * i, model="tiny", shipped=True)
            for i, name in enumerate(["simnpo", "scrub", "retain_ft", "llmu", "rmu"])]
    return pts


@pytest.mark.parametrize("with_adjusttext", [True, False])
def test_labels_do_not_overlap_and_the_legend_names_models_and_references(with_adjusttext, monkeypatch):
    if with_adjusttext:
        pytest.importorskip("adjustText")
    else:
        monkeypatch.setitem(sys.modules, "adjustText", None)  # import fails: the fallback places the labels
    fig, ax, texts, layout = tradeoff_figure(_points(), Axis("Forget", 0.0, "gold's value (the ideal)"),
                                             Axis("Retain"), "t")
    import matplotlib.pyplot as plt

    try:
        if not with_adjusttext:
            assert layout == "fallback"
        assert overlapping_labels(ax, texts) == 0
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        for entry in ("model tiny", "model tiny-qwen2vl", "target (before)", "gold (retain only)",
                      "run (shipped demo)", "run (yours)", "collapsed (ranked last)", "gold's value (the ideal)",
                      "95 % t-interval over seeds", "Pareto front (◆ in the table)"):
            assert entry in legend, (entry, legend)
        labels = [t.get_text() for t in texts]
        assert "npo n=2" in labels and "idk (collapsed)" in labels and "dpo (collapsed)" in labels
    finally:
        plt.close(fig)


def test_axes_are_fixed_and_the_ideal_is_marked_where_it_is(monkeypatch):
    import matplotlib.pyplot as plt

    pts = [Point("a", 0.45, 0.55), Point("b", 0.48, 0.52), Point("gold (retain only)", 0.49, 0.5, kind="gold")]
    fig, ax, _, _ = tradeoff_figure(pts, Axis("U-LIRA (ideal 0.5, dashed)", 0.5, "ideal 0.5"), Axis("Retain"), "t")
    try:
        assert ax.get_xlim() == pytest.approx((-0.04, 1.04)) and ax.get_ylim() == pytest.approx((-0.04, 1.04))
        verticals = [line for line in ax.lines if list(line.get_xdata()) == [0.5, 0.5]]
        assert verticals, "no line at the ideal 0.5"
    finally:
        plt.close(fig)
    # a score outside [0, 1] (log forget quality) keeps its own range, padded
    fig, ax, _, _ = tradeoff_figure([Point("a", -3.0, 0.5), Point("b", 0.0, 0.6)], Axis("log FQ"), Axis("R"), "t")
    try:
        lo, hi = ax.get_xlim()
        assert lo < -3.0 and 0.0 < hi < 1.0
    finally:
        plt.close(fig)


def test_the_shipped_visual_board_plots_ulira_against_its_ideal(tmp_path):
    from clear_bench.leaderboard.build import baseline_records, build, tradeoff_plots, TRACKS  # noqa: F401

    files = build(baseline_records(), tmp_path / "board", include_baselines=False)
    assert {"plot-multimodal", "plot-text", "plot-visual", "plot-visual-1"} <= set(files)
    assert files["plot-visual-1"].name == "tradeoff-visual-ulira.png"
    html = files["html"].read_text()
    assert "tradeoff-visual-ulira.png" in html


def test_plot_axes_say_gold_is_the_ideal_not_an_arrow():
    from clear_bench.leaderboard.build import TRACKS, _plot_axes, baseline_records
    from clear_bench.leaderboard.records import load_record
    from clear_bench.leaderboard.table import rows

    records = [load_record(p) for p in baseline_records() if p.parent.name == "visual"]
    board = TRACKS["visual"]
    table = rows([(r, True) for r in records], board)
    x = _plot_axes(table, board, records, board.forget, gold_is_ideal=True)
    gold = next(r for r in table if r["kind"] == "gold")
    assert "↓" not in x.label and "gold" in x.label and x.ideal == gold["forget_acc"]
    lira = _plot_axes(table, board, records, "ulira", gold_is_ideal=True)
    assert lira.ideal == 0.5 and "0.5" in lira.label
