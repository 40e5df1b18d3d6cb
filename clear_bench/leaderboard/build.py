"""`clear-bench leaderboard RECORDS...`: markdown + HTML leaderboard and a forget-vs-retain plot per track.

CLEAR is three leaderboards (paper Tables 1, 4, 5): one section per track (`record["track"]`, multimodal when a
record predates tracks), each with its own columns. The shipped demo baselines
(`clear_bench/resources/baselines/**.json`) are included unless `--no-baselines`; every record is validated (shape
and hash) before it is read, and a record given twice (same `record_hash`) is one row.

Ranking: a row whose utility collapsed (the track's keep score: model utility, or retain accuracy on the visual
track, below half the target model's, or below 0.05 when the record does not carry the target's) is marked and
sorted below every other row: the paper's Table 1 greys such rows out, and a model that lost everything must not
rank first for having "forgotten". The rest are sorted by the track's
default metric (multimodal: forget quality 1 − JS; text: log forget quality (KS); visual: U-LIRA closest to 0.5)
or `--sort KEY`, each in its own direction; values that do not apply are printed "n/a" and sorted last.
"""
from __future__ import annotations

import html
import math
from importlib import resources
from pathlib import Path

from ..errors import ClearBenchError
from ..eval.metrics.registry import goal
from ..tracks import TRACKS as TRACK_REGISTRY, Board
from ..utils import atomic_write_text, check_writable
from .records import load_record

COLLAPSE_FRACTION = 0.5
COLLAPSE_FLOOR = 0.05
EFFICIENCY = ("unlearn_cost_fraction", "Cost / retrain", "↓")


# Each track's section (columns, forget / retain / keep / sort keys) is the track's `Board` (`clear_bench/tracks.py`).
TrackBoard = Board
TRACKS = {name: t.board for name, t in TRACK_REGISTRY.items()}
TRACK_ORDER = tuple(TRACK_REGISTRY)


def baseline_records() -> list[Path]:
    """The shipped demo records, every track (`resources/baselines/*.json` and its per-track subfolders)."""
    folder = resources.files("clear_bench") / "resources" / "baselines"
    if not folder.is_dir():
        return []
    return sorted(Path(str(p)) for p in Path(str(folder)).rglob("*.json"))


def _entry(record: dict, key: str) -> dict | None:
    if key == EFFICIENCY[0]:
        v = (record.get("efficiency") or {}).get(key)
        return None if v is None else {"value": v, "direction": EFFICIENCY[2], "higher_is_better": False}
    return record["metrics"].get(key)


def _value(record: dict, key: str) -> float | None:
    entry = _entry(record, key)
    v = None if entry is None else entry.get("value")
    return v if v is None or math.isfinite(v) else None


def _fmt(v) -> str:
    return "n/a" if v is None else (f"{v:.2e}" if 0 < abs(v) < 1e-3 else f"{v:.3f}")


def _arrow(records: list[dict], key: str) -> str:
    """The column's direction as the records state it (each record carries every metric's arrow)."""
    for r in records:
        entry = _entry(r, key)
        if entry and entry.get("direction"):
            return entry["direction"]
    return ""


def collapsed(record: dict, board: TrackBoard) -> bool:
    """True when the keep score fell below half the target model's (or below 0.05 without the target's)."""
    keep = _value(record, board.keep)
    if keep is None:
        return False
    target = ((record.get("reference") or {}).get("target") or {}).get(board.keep)
    return keep < (COLLAPSE_FRACTION * target if target else COLLAPSE_FLOOR)


def entry_goal(entry: dict) -> str | float | None:
    """A record entry's goal: 'higher', 'lower', its target value (closest is best), or None. The target wins over
    a direction: records written before issue 22.3 carry U-LIRA as lower-is-better with ideal 0.5."""
    ideal, direction = entry.get("ideal"), entry.get("direction") or ""
    if ideal is None and direction.startswith("→"):
        ideal = float(direction[1:])
    return goal(entry.get("higher_is_better"), ideal)


def oriented(value: float, target: str | float | None) -> float:
    """`value` turned so that higher is better under `target` (a goal as `entry_goal` gives it)."""
    if target == "higher":
        return value
    if target == "lower":
        return -value
    if isinstance(target, float):
        return -abs(value - target)
    raise ValueError("a metric without a direction cannot be ranked")


def _sort_key(key: str, records: list[dict]):
    """Sort key of one metric in its own direction (descending when higher is better, ascending when lower is,
    by distance to the target value when there is one); missing values last."""
    target = entry_goal(_first_entry(records, key))

    def key_of(r: dict) -> tuple[bool, float]:
        v = _value(r, key)
        if v is None:
            return True, 0.0
        return False, 0.0 if target is None else -oriented(v, target)

    return key_of


def _first_entry(records: list[dict], key: str) -> dict:
    """The first record's entry for metric `key`; a one-line error naming some valid keys if no record has it."""
    entry = next((e for e in (_entry(r, key) for r in records) if e), None)
    if entry is None:
        columns = dict.fromkeys(k for b in TRACKS.values() for k, _ in b.columns)
        raise ClearBenchError(f"no record has metric '{key}' to sort by; e.g. " + ", ".join(columns))
    return entry


def rows(records: list[tuple[dict, bool]], board: TrackBoard, sort: str | None = None) -> list[dict]:
    """Table rows of one track: (record, shipped) pairs, deduplicated by record hash, collapsed rows last."""
    seen, unique = set(), []
    for record, shipped in records:
        if record["record_hash"] not in seen:
            seen.add(record["record_hash"])
            unique.append((record, shipped))
    records = [r for r, _ in unique]
    if sort or any(_entry(r, board.sort) for r in records):
        key = _sort_key(sort or board.sort, records)
    else:  # records without the default ranking metric (e.g. no gold run): keep their order
        key = lambda r: (False, 0.0)  # noqa: E731
    unique.sort(key=lambda pair: (collapsed(pair[0], board), *key(pair[0])))
    out = []
    for r, shipped in unique:
        row = {"label": r.get("label", r["method"]), "method": r["method"], "modality": r["modality"],
               "forget": r["forget"], "preset": r["config"].get("preset", "?"), "from": "shipped" if shipped else "yours",
               "collapsed": collapsed(r, board)}
        row.update({k: _value(r, k) for k, _ in board.columns})
        row[EFFICIENCY[0]] = _value(r, EFFICIENCY[0])
        out.append(row)
    return out


def _header(board: TrackBoard, records: list[dict]) -> list[str]:
    cols = [f"{h} {_arrow(records, k)}".strip() for k, h in board.columns]
    return ["#", "method", "from", "modality", "forget %", "preset"] + cols + [f"{EFFICIENCY[1]} {EFFICIENCY[2]}"]


def _cells(i: int, r: dict, board: TrackBoard) -> list[str]:
    label = f"{r['label']} (collapsed)" if r["collapsed"] else r["label"]
    return ([str(i), label, r["from"], r["modality"], str(r["forget"]), r["preset"]]
            + [_fmt(r[k]) for k, _ in board.columns] + [_fmt(r[EFFICIENCY[0]])])


def markdown(table: list[dict], board: TrackBoard, records: list[dict]) -> str:
    head = _header(board, records)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cells(i, r, board)) + " |" for i, r in enumerate(table, 1)]
    return "\n".join(lines) + "\n"


NOTE = ("↑ higher is better, ↓ lower is better, →x closest to x. n/a: does not apply to that run. "
        "(collapsed): model utility (visual: retain accuracy) fell below half the target model's; ranked last. "
        "Forget / Retain / Real metric: harmonic mean of ROUGE-L, Prob and the retained-knowledge truth ratio "
        "(paper v4 §5.1); each falls as a model forgets. 'shipped': a demo record that comes with clear-bench.")


def html_section(table: list[dict], board: TrackBoard, records: list[dict], plot_name: str | None) -> str:
    head = _header(board, records)
    body = []
    for i, r in enumerate(table, 1):
        style = " style='color:#999'" if r["collapsed"] else ""
        body.append(f"<tr{style}>" + "".join(f"<td>{html.escape(c)}</td>" for c in _cells(i, r, board)) + "</tr>")
    img = (f'<p><img src="{html.escape(plot_name)}" alt="{html.escape(board.title)}: forget vs retain"></p>'
           if plot_name else "")
    return (f"<h2>{html.escape(board.title)}</h2><table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head)
            + "</tr>" + "".join(body) + "</table>" + img)


def html_page(sections: list[str]) -> str:
    return ("<!doctype html><html><head><meta charset='utf-8'><title>CLEAR leaderboard</title><style>"
            "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
            "padding:4px 8px;text-align:right}td:nth-child(2),td:nth-child(3),td:nth-child(4){text-align:left}"
            "</style></head><body><h1>CLEAR leaderboard</h1><p>" + html.escape(NOTE) + "</p>" + "".join(sections)
            + "</body></html>\n")


def build(record_paths: list[str | Path], out: str | Path, include_baselines: bool = True,
          sort: str | None = None) -> dict[str, Path]:
    """Validate the records and write leaderboard.md, leaderboard.html and one trade-off plot per track."""
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
    md, sections, files = ["# CLEAR leaderboard", "", NOTE, ""], [], {}
    for track in TRACK_ORDER:
        if track not in by_track:
            continue
        board, pairs = TRACKS[track], by_track[track]
        records = [r for r, _ in pairs]
        # a sort key of another track's section leaves this section in its default order
        table = rows(pairs, board, sort if sort and any(_entry(r, sort) for r in records) else None)
        md += [f"## {board.title}", "", markdown(table, board, records)]
        points = [(r["label"], r[board.forget], r[board.retain], r["from"] == "shipped", r["collapsed"])
                  for r in table if r[board.forget] is not None and r[board.retain] is not None]
        plot = None
        if points:
            plot = tradeoff(points, out / f"tradeoff-{track}.png",
                            xlabel=f"{dict(board.columns)[board.forget]} {_arrow(records, board.forget)}",
                            ylabel=f"{dict(board.columns)[board.retain]} {_arrow(records, board.retain)}",
                            title=board.title)
            files[f"plot-{track}"] = plot
        sections.append(html_section(table, board, records, plot.name if plot else None))
    files = {"markdown": atomic_write_text(out / "leaderboard.md", "\n".join(md)),
             "html": atomic_write_text(out / "leaderboard.html", html_page(sections)), **files}
    return files
