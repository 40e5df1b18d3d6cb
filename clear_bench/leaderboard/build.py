"""`clear-bench leaderboard RECORDS...`: markdown + HTML leaderboard and trade-off plots per track.

CLEAR is three leaderboards (paper Tables 1, 4, 5): one section per track (`record["track"]`, multimodal when a
record predates tracks), each with its own columns. The shipped demo baselines
(`clear_bench/resources/baselines/**.json`) are included unless `--no-baselines`; every record is validated (shape
and hash) before it is read, and a record given twice (same `record_hash`) is one row.

What a section's table holds and how it is ranked is `table.py`'s: each model's target and gold reference rows
(never ranked), seeds merged into one row (mean ± 95 % t-interval, n), rank within a model by the track's default
metric (multimodal: forget quality 1 − JS; text: log forget quality (KS); visual: U-LIRA closest to 0.5) or
`--sort KEY`, collapsed rows last, the keep score then the label as tie-break, distance to gold and the Pareto front.
The heading of each section names its sort key and tie-break. The HTML page sorts and filters in the browser
(`resources/leaderboard.js`, embedded: no network) and links every row to its record, copied under `records/`.
"""
from __future__ import annotations

import html
import json
import logging
import re
from importlib import resources
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from ..errors import ClearBenchError
from ..tracks import TRACKS as TRACK_REGISTRY, Board
from ..utils import atomic_write_text, check_writable
from .records import load_record
from .table import (COLLAPSE_FLOOR, COLLAPSE_FRACTION, CONFIDENCE, EFFICIENCY, arrow, collapsed, entry,  # noqa: F401
                    entry_goal, first_entry, key_goal, oriented, rows, value)

log = logging.getLogger(__name__)

MEMORISED = "Memorised"  # the column of the memorisation gate's margin (`eval/memorisation.py`), when measured
ROBUST = "Robust forget"  # the worst forget metric over a run's attacks (`attacks/run.py`), when attacked


# Each track's section (columns, forget / retain / keep / sort keys) is the track's `Board` (`clear_bench/tracks.py`).
TrackBoard = Board
TRACKS = {name: t.board for name, t in TRACK_REGISTRY.items()}
TRACK_ORDER = tuple(TRACK_REGISTRY)
DISTANCE = (("to_gold_forget", "Forget: off gold", "↓"), ("retain_cost", "Retain: short of gold", "↓"))


def baseline_records() -> list[Path]:
    """The shipped demo records, every track (`resources/baselines/*.json` and its per-track subfolders)."""
    folder = resources.files("clear_bench") / "resources" / "baselines"
    if not folder.is_dir():
        return []
    return sorted(Path(str(p)) for p in Path(str(folder)).rglob("*.json"))


def _fmt(v) -> str:
    return "n/a" if v is None else (f"{v:.2e}" if 0 < abs(v) < 1e-3 else f"{v:.3f}")


def _fmt_stat(s) -> str:
    if s is None:
        return "n/a"
    return _fmt(s.mean) if s.half is None else f"{_fmt(s.mean)} ± {_fmt(s.half)}"


def _first_entry(records: list[dict], key: str) -> dict:
    """The first record's entry for metric `key`; a one-line error naming some valid keys if no record has it."""
    e = first_entry(records, key)
    if e is None:
        columns = dict.fromkeys(k for b in TRACKS.values() for k, _ in b.columns)
        raise ClearBenchError(f"no record has metric '{key}' to sort by; e.g. " + ", ".join(columns))
    return e


def _named(board: TrackBoard, records: list[dict], key: str) -> str:
    name = dict(board.columns).get(key, key)
    a = arrow(records, key)
    return f"{name} {a}".strip() if not a.startswith("→") else f"{name} (closest to {a[1:]})"


def heading(board: TrackBoard, records: list[dict], sort: str | None = None) -> str:
    """The line under a section's title: the sort key, the tie-break, and what is not ranked."""
    return (f"Ranked within each model and forget size by **{_named(board, records, sort or board.sort)}**; "
            f"ties broken by {_named(board, records, board.keep)}, then method name. Collapsed rows rank last; the "
            "target (before) and gold (retain only) rows are references, not ranked. Seeds of one configuration are "
            f"one row: mean ± {CONFIDENCE:.0%} t-interval over n seeds.")


def memorised(row: dict) -> float | None:
    """A method row's memorisation margin (`eval/memorisation.py`): the smallest target − gold margin of forget
    items answered over its records' forget tasks; None for reference rows and records made before the gate."""
    if row["kind"] != "method":
        return None
    margins = [t.get("margin") for rec in row["records"]
               for t in ((rec.get("memorisation") or {}).get("tasks") or {}).values()]
    margins = [m for m in margins if m is not None]
    return min(margins) if margins else None


def robust_forget(row: dict) -> float | None:
    """A method row's robust forget metric (issue 23): the worst forget metric over the attacks its records were
    run under (`attacks.run`: `robust_forget` in submission.json), averaged over its seeds; None if never attacked."""
    if row["kind"] != "method":
        return None
    values = [rec["robust_forget"] for rec in row["records"] if isinstance(rec.get("robust_forget"), (int, float))]
    return sum(values) / len(values) if values else None


@dataclass(frozen=True)
class Extra:
    """A column a section shows only when some row has a value for it."""

    header: str
    arrow: str
    value: Callable[[dict], float | None]
    best: str  # the HTML sort's first-click direction


EXTRAS = (Extra(MEMORISED, "↑", memorised, "desc"), Extra(ROBUST, "↓", robust_forget, "asc"))


def _extras(table: list[dict]) -> list[Extra]:
    """The optional columns some row of the section has a value for (records made before them show none)."""
    return [x for x in EXTRAS if any(x.value(r) is not None for r in table)]


def _header(board: TrackBoard, records: list[dict], extras: Sequence[Extra] = ()) -> list[str]:
    cols = [f"{h} {arrow(records, k)}".strip() for k, h in board.columns]
    return (["#", "method", "model", "from", "modality", "forget %", "preset", "n"] + cols
            + [f"{h} {a}" for _, h, a in DISTANCE] + ["front", f"{EFFICIENCY[1]} {EFFICIENCY[2]}"]
            + [f"{x.header} {x.arrow}" for x in extras])


def _label(r: dict) -> str:
    label = f"{r['label']} (collapsed)" if r["collapsed"] else r["label"]
    unmemorised = any((rec.get("memorisation") or {}).get("passed") is False for rec in r.get("records", ()))
    return label + (" (unmemorised)" if r["kind"] == "method" and unmemorised else "")


def _cells(r: dict, board: TrackBoard, extras: Sequence[Extra] = ()) -> list[str]:
    rank = "ref" if r["kind"] != "method" else str(r["rank"])
    return ([rank, _label(r), r["model"], r["from"], r["modality"], str(r["forget"]), r["preset"], str(r["n"])]
            + [_fmt_stat(r["stats"].get(k)) for k, _ in board.columns]
            + [_fmt(r.get(k)) for k, _, _ in DISTANCE] + ["◆" if r.get("front") else ""]
            + [_fmt_stat(r["stats"].get(EFFICIENCY[0]))] + [_fmt(x.value(r)) for x in extras])


def markdown(table: list[dict], board: TrackBoard, records: list[dict]) -> str:
    extras = _extras(table)
    head = _header(board, records, extras)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cells(r, board, extras)) + " |" for r in table]
    return "\n".join(lines) + "\n"


NOTE = ("↑ higher is better, ↓ lower is better, closest to x: a target value (U-LIRA / U-MIA: 0.5). n/a: does not "
        "apply to that run. ref: a reference row (target = the fine-tuned model before unlearning, gold = the "
        "model fine-tuned on the retain set only, the ideal an unlearning method approaches); not ranked. "
        "(collapsed): model utility (visual: retain accuracy) fell below half the target model's; ranked last. "
        "n: seeds merged into the row; ± is the half-width of the 95 % Student-t interval of the mean (none for "
        "n = 1). Forget: off gold is |forget − gold's forget| (either way is off: still remembering, or forgetting "
        "past retraining); Retain: short of gold is how far the retain score falls below gold's (0 at or above "
        "it); ◆ front: no other run of that model and forget size is both closer to gold's forgetting and cheaper "
        "in retain (the Pareto front). Forget / Retain / Real metric: harmonic mean of ROUGE-L, Prob and the "
        "retained-knowledge truth ratio (paper v4 §5.1); each falls as a model forgets. Memorised (runs that "
        "measured it): the smallest, over the forget tasks, of the fraction of items the target answers minus the "
        "gold model's (docs/memorisation.md); (unmemorised): the target failed that gate and the run went on with "
        "--allow-unmemorised. Robust forget (runs that were attacked: `clear-eval --attacks`, docs/attacks.md): "
        "the worst forget metric over the attacks, quantization and relearning; far above Forget means the "
        "forgetting came back. 'shipped': a demo record that comes with clear-bench.")


def record_name(record: dict) -> str:
    """The file name a record is copied to under the board's records/ folder (rows link to it)."""
    label = re.sub(r"[^A-Za-z0-9_.-]+", "_", record.get("label", record["method"]))
    return f"{record.get('track', 'multimodal')}-{label}-s{record['seed']}-{record['record_hash'][:10]}.json"


def _html_row(r: dict, board: TrackBoard, extras: Sequence[Extra] = ()) -> str:
    cells = _cells(r, board, extras)
    keys = ([None] * 8 + [k for k, _ in board.columns] + [k for k, _, _ in DISTANCE] + [None, EFFICIENCY[0]])
    numbers = [None if k is None else r.get(k) for k in keys] + [x.value(r) for x in extras]
    numbers[0] = r["rank"]
    numbers[5], numbers[7] = r["forget"], r["n"]
    links = " ".join(f'<a href="records/{html.escape(record_name(rec))}">{"record" if not r["seeds"] else "s" + str(s)}'
                     f"</a>" for rec, s in zip(r["records"], r["seeds"] or [None] * len(r["records"])))
    tds = []
    for i, (c, num) in enumerate(zip(cells, numbers)):
        data = "" if num is None else f' data-v="{num!r}"'
        text = html.escape(c)
        if i == 1:
            text += f" <small>{links}</small>" if links else ""
        tds.append(f"<td{data}>{text}</td>")
    ref = "1" if r["kind"] != "method" else "0"
    cls = " class='ref'" if r["kind"] != "method" else " class='collapsed'" if r["collapsed"] else ""
    return f"<tr data-ref='{ref}' data-kind='{r['kind']}'{cls}>" + "".join(tds) + "</tr>"


def _th_attrs(board: TrackBoard, records: list[dict], extras: Sequence[Extra] = ()) -> list[str]:
    """Each header's sorting hints for the page's script: data-best (the first click's direction), data-ideal."""
    def hint(g):
        if isinstance(g, float):
            return f" data-best='asc' data-ideal='{g!r}'"
        return {"higher": " data-best='desc'", "lower": " data-best='asc'"}.get(g, "")

    return ([" data-best='asc'"] + [""] * 7 + [hint(key_goal(records, k)) for k, _ in board.columns]
            + [" data-best='asc'"] * len(DISTANCE) + [""] + [" data-best='asc'"]
            + [f" data-best='{x.best}'" for x in extras])


def html_section(table: list[dict], board: TrackBoard, records: list[dict], plots: list[str],
                 sort: str | None = None, track: str = "") -> str:
    extras = _extras(table)
    head = _header(board, records, extras)
    body = "".join(_html_row(r, board, extras) for r in table)
    heading_html = html.escape(heading(board, records, sort)).replace("**", "")
    imgs = "".join(f'<p><img src="{html.escape(p)}" alt="{html.escape(board.title)}: {html.escape(p)}"></p>'
                   for p in plots)
    return (f"<h2>{html.escape(board.title)}</h2><p>{heading_html}</p>"
            f"<p><input type='search' class='board-filter' placeholder='filter rows (method, model, …)' "
            f"aria-label='filter {html.escape(board.title)}'></p>"
            f"<table class='board' id='board-{html.escape(track)}'><thead><tr>"
            + "".join(f"<th title='click to sort'{a}>{html.escape(h)}</th>"
                      for h, a in zip(head, _th_attrs(board, records, extras)))
            + f"</tr></thead><tbody>{body}</tbody></table>" + imgs)


def board_script() -> str:
    """The page's sorting / filtering script (`resources/leaderboard.js`)."""
    return (resources.files("clear_bench") / "resources" / "leaderboard.js").read_text()


def html_page(sections: list[str]) -> str:
    return ("<!doctype html><html><head><meta charset='utf-8'><title>CLEAR leaderboard</title><style>"
            "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
            "padding:4px 8px;text-align:right}th{cursor:pointer;background:#f4f4f4}"
            "td:nth-child(2),td:nth-child(3),td:nth-child(4),td:nth-child(5){text-align:left}"
            "tr.ref{background:#eef4ff;font-style:italic}tr.collapsed{color:#999}"
            "th.asc::after{content:' ▲'}th.desc::after{content:' ▼'}"
            "</style></head><body><h1>CLEAR leaderboard</h1><p>" + html.escape(NOTE) + "</p>" + "".join(sections)
            + "<script>\n" + board_script() + "\n</script></body></html>\n")


def build(record_paths: list[str | Path], out: str | Path, include_baselines: bool = True,
          sort: str | None = None) -> dict[str, Path]:
    """Validate the records and write leaderboard.md, leaderboard.html (with records/) and trade-off plots."""
    from ..eval.plots import tradeoff

    shipped = baseline_records() if include_baselines else []
    shipped_set = {p.resolve() for p in shipped}
    paths = [Path(p) for p in record_paths] + shipped  # a shipped record given again is one row (`rows`)
    if not paths:
        raise ClearBenchError("no records given (and no shipped baselines found)")
    by_track: dict[str, list[tuple[dict, bool]]] = {}
    for p in paths:
        record = load_record(p)
        track = record.get("track", "multimodal")
        if track not in TRACKS:
            raise ClearBenchError(f"{p}: unknown track '{track}'; valid: {', '.join(TRACKS)}")
        by_track.setdefault(track, []).append((record, p.resolve() in shipped_set))
    if sort:  # an unknown key fails before anything is written
        _first_entry([r for pairs in by_track.values() for r, _ in pairs], sort)
    out = check_writable(out)  # (a file in the way is one line, not a FileExistsError)
    out.mkdir(parents=True, exist_ok=True)
    md, sections, files, linked = ["# CLEAR leaderboard", "", NOTE, ""], [], {}, {}
    for track in TRACK_ORDER:
        if track not in by_track:
            continue
        board, pairs = TRACKS[track], by_track[track]
        records = [r for r, _ in pairs]
        # a sort key of another track's section leaves this section in its default order
        own_sort = sort if sort and any(entry(r, sort) for r in records) else None
        table = rows(pairs, board, own_sort)
        md += [f"## {board.title}", "", heading(board, records, own_sort), ""]
        if sort and own_sort is None:  # said, not silent (issue 28.6)
            log.warning("--sort %s: the %s section has no such metric; it keeps its default order", sort, track)
            md += [f"(`--sort {sort}`: no record of this section has that metric; default order.)", ""]
        md += [markdown(table, board, records)]
        plots = tradeoff_plots(table, board, records, out, track, tradeoff)
        files.update({f"plot-{track}" + ("" if i == 0 else f"-{i}"): p for i, p in enumerate(plots)})
        sections.append(html_section(table, board, records, [p.name for p in plots], own_sort, track))
        for r in table:
            for rec in r["records"]:
                linked[record_name(rec)] = rec
    files = {"markdown": atomic_write_text(out / "leaderboard.md", "\n".join(md)),
             "html": atomic_write_text(out / "leaderboard.html", html_page(sections)), **files}
    for name, rec in linked.items():
        atomic_write_text(out / "records" / name, json.dumps(rec, indent=1, sort_keys=True) + "\n")
    return files


def _plot_axes(table: list[dict], board: TrackBoard, records: list[dict], key: str, gold_is_ideal: bool):
    from ..eval.plots import Axis

    name = dict(board.columns).get(key, key)
    golds = [r[key] for r in table if r["kind"] == "gold" and r[key] is not None]
    g = key_goal(records, key)
    if isinstance(g, float):
        return Axis(f"{name} (ideal {g:g}, dashed)", g, f"{name} ideal {g:g}: as if never trained")
    if len(golds) == 1 and gold_is_ideal:
        return Axis(f"{name}: closer to gold's is better (dashed)", golds[0], "gold's value (the ideal)")
    if len(golds) == 1:
        return Axis(f"{name} {arrow(records, key)} (dashed: gold's)", golds[0], "")
    return Axis(f"{name} {arrow(records, key)}")


def tradeoff_plots(table: list[dict], board: TrackBoard, records: list[dict], out: Path, track: str,
                   tradeoff) -> list[Path]:
    """The section's plots: forget vs retain, and, for a forget score with a target value (the visual track's
    U-LIRA: 0.5), that score vs retain. None when no run has both values."""
    from ..eval.plots import Point

    plots = []
    pairs = [(board.forget, "")]
    if board.sort != board.forget and isinstance(key_goal(records, board.sort), float):
        pairs.append((board.sort, f"-{board.sort.replace('/', '_')}"))
    for xkey, suffix in pairs:
        shown = [r for r in table if r[xkey] is not None and r[board.retain] is not None]
        runs = [r for r in shown if r["kind"] == "method"]
        if not runs:
            continue
        points = [Point(r["label"], r[xkey], r[board.retain], model=r["model"], kind=r["kind"],
                        shipped=r["from"] == "shipped", collapsed=r["collapsed"], n=r["n"], front=r["front"],
                        xerr=r["stats"][xkey].half, yerr=r["stats"][board.retain].half) for r in shown]
        models = sorted({r["model"] for r in runs})
        seeds = sorted({r["n"] for r in runs})
        title = (f"{board.title}: {len(runs)} runs, model{'s' if len(models) > 1 else ''} {', '.join(models)}; "
                 f"n = {'/'.join(map(str, seeds))} seed{'s' if seeds != [1] else ''} per run")
        x = _plot_axes(table, board, records, xkey, gold_is_ideal=True)
        y = _plot_axes(table, board, records, board.retain, gold_is_ideal=False)
        plots.append(tradeoff(points, out / f"tradeoff-{track}{suffix}.png", x=x, y=y, title=title))
    robust = robust_plot(table, board, records, out / f"robust-{track}.png")
    return plots + ([robust] if robust else [])


def robust_plot(table: list[dict], board: TrackBoard, records: list[dict], out: Path) -> Path | None:
    """Forget after unlearning (x) vs robust forget, the worst after the attacks (y), for the attacked runs
    (issue 23): on the diagonal the forgetting survived every attack; above it, that much came back. None when no
    run was attacked."""
    from ..eval.plots import Axis, Point, tradeoff

    runs = [r for r in table if r["kind"] == "method" and robust_forget(r) is not None and r[board.forget] is not None]
    if not runs:
        return None
    name = dict(board.columns).get(board.forget, board.forget)
    golds = [r[board.forget] for r in table if r["kind"] == "gold" and r[board.forget] is not None]
    gold = golds[0] if len(golds) == 1 else None
    points = [Point(r["label"], r[board.forget], robust_forget(r), model=r["model"], shipped=r["from"] == "shipped",
                    collapsed=r["collapsed"], n=r["n"]) for r in runs]
    return tradeoff(
        points, out, Axis(f"{name} after unlearning {arrow(records, board.forget)}", gold, "gold's value"),
        Axis(f"robust {name}: the worst after the attacks {arrow(records, board.forget)}", gold, ""),
        f"{board.title}: forgetting that survives the attacks ({len(runs)} attacked run{'s' if len(runs) > 1 else ''}; "
        "above the diagonal: it came back)", diagonal=True)
