"""The paper's tables as grids of clear-eval runs, and our numbers beside the published ones (issue 25).

`cells(table, ...)` is a table's grid (`grid.Cell`s: one clear-eval run per method, modality or model); once the
grid has run, `compare(table, records)` lays its records out as the paper's table, each value beside the published
one (`published.py`), and `claims(...)` judges the table's qualitative claims on both. Run folders are named as
clear-eval names them (`Track.default_out`), under one root, so the tables share their cells: Table 1's cells are
Table 3's "both" column and Table 2's multimodal ranking.

Reference rows (Gold, Base / Original) of the LM tracks come from the `reference` block every record carries
(target and gold are cached and shared by the cells of one setting); the visual track runs them as methods.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import published
from .errors import ClearBenchError
from .grid import Cell

TABLE_NAMES = ("table1", "table2", "table3", "table4", "table5")
# Our metric of each paper column, in two forms (the paper's text and the code that made its tables disagree:
# README "Metrics"): "reference" = the reference code's forms, which produced the published numbers (Tables 1 and 3:
# somvy/multimodal_unlearning mm/calculate_metrics.py; Table 4: nlp/aggregate_eval_stat.py), so the default;
# "paper-text" = the formulas of the paper's text (v4 §5.1: ROUGE-L, Prob and max(0, 1 - R)), no published table.
# (paper column, record metric key, scale: the paper prints the visual accuracies in percent)
_VISUAL = (("Forget", "forget_acc", 100), ("Holdout", "holdout_acc", 100), ("Retain", "retain_acc", 100),
           ("U-LIRA", "ulira", 1), ("U-MIA", "umia", 1))
_REFERENCE = {
    "multimodal": (("Real", "real_metric_ref", 1), ("Retain", "retain_metric_ref", 1),
                   ("Forget", "forget_metric_ref", 1), ("FQ", "forget_captions/forget_quality_js_ref", 1)),
    "text": (("Real", "text_real_metric_ref", 1), ("Retain", "text_retain_metric_ref", 1),
             ("Forget", "text_forget_metric_ref", 1), ("log FQ", "text_log_forget_quality", 1)),
    "visual": _VISUAL}
# the paper-text form of each column is the same metric without its `_ref` suffix
FORMS = {"reference": _REFERENCE,
         "paper-text": {track: tuple((col, key.removesuffix("_ref"), scale) for col, key, scale in columns)
                        for track, columns in _REFERENCE.items()}}
FORM_NOTES = {
    "reference": "Our values are the reference code's metric forms (`*_ref`: the code that made the published "
                 "tables); `--form paper-text` shows the formulas of the paper's text instead.",
    "paper-text": "Our values are the formulas of the paper's text (ROUGE-L, Prob, max(0, 1 − R)); the published "
                  "numbers were made with the reference code's forms (`--form reference`, the default).",
}
TRACK_OF = {"table1": "multimodal", "table3": "multimodal", "table4": "text", "table5": "visual"}
MODALITY_OF = {"text": "text", "visual": "image", "both": "both"}  # Table 3's columns as --modality
# Table 4's models on the paper preset: the text preset's Llama-2-7B chat model, and the Mistral the CLEAR reference
# code's nlp/ model list names (mistral-7b-instruct-v0.3)
TABLE4_MODELS = {"Llama-2-7B": None, "Mistral-7B": "mistralai/Mistral-7B-Instruct-v0.3"}
DEMO_NOTE = ("A demo run (tiny models on the built-in offline data, on a CPU) is not expected to reproduce the "
             "paper's numbers: it runs the same pipeline end to end at toy scale. The paper preset, on GPUs, is the "
             "reproduction.")


@dataclass(frozen=True)
class Setting:
    """What every cell of a reproduction shares."""

    preset: str = "demo"
    forget: int = 10
    root: Path = Path("reproduce")
    model: str | None = None  # multimodal / text base model (None: the preset's)
    cpus: float = 1
    gpus: float | None = None  # per cell (None: 1 on the paper preset, 0 on the demo)
    form: str = "reference"  # which of our metric forms stand beside the published values (`FORMS`)


def check_table(name: str) -> str:
    if name not in TABLE_NAMES:
        raise ClearBenchError(f"unknown table '{name}'; valid: {', '.join(TABLE_NAMES)} (table2 is the cross-track "
                              "transfer of tables 1, 4 and 5)")
    return name


def default_methods(table: str) -> list[str]:
    """The methods of the table's rows that the track runs (Table 5 with Original and Gold, run as methods)."""
    from .tracks import get_track

    track = get_track(TRACK_OF[table])
    names = [published.ROW_METHODS[r] for r in published.TABLES[table]["rows"]]
    if table == "table5":
        names = ["original" if n == "target" else n for n in names]
    return [n for n in names if n in track.method_names()]


def _methods(table: str, methods: Sequence[str] | None) -> list[str]:
    from .tracks import get_track

    if not methods:
        return default_methods(table)
    track = get_track(TRACK_OF[table])
    unknown = [m for m in methods if m not in track.method_names() and ":" not in m]
    if unknown:
        raise ClearBenchError(f"--methods: {', '.join(unknown)} not on the {track.name} track (it runs: "
                              f"{', '.join(track.method_names())})")
    return list(methods)


def _cell(track_name: str, method: str, modality: str, s: Setting, key: dict, model: str | None = None) -> Cell:
    from .tracks import get_track

    track = get_track(track_name)
    name = Path(track.default_out(method, modality, s.forget, s.preset, model)).name
    out = (s.root / "runs" / name).resolve()  # absolute: a Ray worker's working folder is not ours
    argv = ["--track", track_name, "--preset", s.preset, "--method", method, "--forget", str(s.forget)]
    if len(track.modalities) > 1:
        argv += ["--modality", modality]
    if model:
        argv += ["--model", model]
    gpus = s.gpus if s.gpus is not None else (1 if s.preset == "paper" else 0)
    return Cell(name, tuple(argv + ["--out", str(out)]), str(out), track_name,
                key={**key, "method": method, "preset": s.preset, "forget": s.forget, "model": model},
                resources={"num_cpus": s.cpus, "num_gpus": gpus})


def cells(table: str, s: Setting, methods: Sequence[str] | None = None) -> list[Cell]:
    """The table's grid (module docstring); `methods` narrows it (each track takes those it runs, for table2)."""
    check_table(table)
    if table == "table2":
        from .tracks import get_track

        grid = []
        for t in ("table1", "table4", "table5"):
            ms = [m for m in methods if m in get_track(TRACK_OF[t]).method_names()] if methods else None
            if ms == []:  # none of the given methods runs on this track
                continue
            # one record per method and track (the transfer's rule): Table 4's first model, methods only
            grid += [c for c in cells(t, s, ms) if c.key["method"] not in ("original", "gold")
                     and c.key.get("group") in (None, published.TABLE4["groups"][0])]
        return grid
    ms = _methods(table, methods)
    if table == "table1":
        return [_cell("multimodal", m, "both", s, {"group": None}, s.model) for m in ms]
    if table == "table3":
        return [_cell("multimodal", m, MODALITY_OF[g], s, {"group": g}, s.model)
                for g in published.TABLE3["groups"] for m in ms]
    if table == "table4":
        models = {"Llama-2-7B": s.model} if s.preset != "paper" or s.model else TABLE4_MODELS
        return [_cell("text", m, "text", s, {"group": g}, model) for g, model in models.items() for m in ms]
    return [_cell("visual", m, "image", s, {"group": None}) for m in ms]


# --------------------------------------------------------------------------- our values in the paper's layout


def _row_of(method: str) -> str | None:
    inverse = {v: k for k, v in published.ROW_METHODS.items() if k not in ("Base",)}
    return {"original": "Original"}.get(method, inverse.get(method))


def check_form(form: str) -> str:
    if form not in FORMS:
        raise ClearBenchError(f"unknown --form '{form}'; valid: {', '.join(FORMS)}")
    return form


def values(table: str, results: Sequence, form: str = "reference") -> dict[tuple[str, str | None],
                                                                             dict[str, float | None]]:
    """{(row, group): {column: value}} of our records (`grid.CellResult`s), in the paper's units and in `form`
    (`FORMS`); reference rows from the records' reference block (LM tracks)."""
    columns = FORMS[check_form(form)][TRACK_OF[table]]
    out: dict = {}
    base = "Original" if table in ("table4", "table5") else "Base"
    for r in results:
        if r.record is None:
            continue
        group = r.cell.key.get("group")
        row = _row_of(r.cell.key["method"]) or r.cell.key["method"]
        out[(row, group)] = {col: _scaled(r.record["metrics"].get(key, {}).get("value"), scale)
                             for col, key, scale in columns}
        for ref_row, which in ((base, "target"), ("Gold", "gold")):
            ref = (r.record.get("reference") or {}).get(which)
            if ref and (ref_row, group) not in out:
                out[(ref_row, group)] = {col: _scaled(ref.get(key), scale) for col, key, scale in columns}
    return out


def _scaled(v, scale):
    return None if v is None else float(v) * scale


def published_values(table: str) -> dict[tuple[str, str | None], dict[str, float | None]]:
    t = published.TABLES[table]
    out = {}
    for row, cell in t["rows"].items():
        for group in t.get("groups") or (None,):
            vals = cell[group] if group else cell
            out[(row, group)] = {c: (None if vals is None else vals[i]) for i, c in enumerate(t["columns"])}
    return out


def _fmt(v, digits: int = 2) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def render(table: str, ours: Mapping, s: Setting, base_model: str | None, transfer: Sequence | None = None,
           claims_: Sequence[dict] = ()) -> str:
    """The markdown of a reproduced table: our value / the paper's in each cell, then the claims."""
    t = published.TABLES[table]
    lines = [f"# {t['title']}: ours ({s.preset} preset, forget {s.forget} %"
             + (f", base model {base_model}" if base_model else "") + ") / published", ""]
    if s.preset != "paper":
        lines += [DEMO_NOTE, ""]
    lines += ["Each cell: ours / the paper's (arXiv 2410.18057 v4); – where a value is missing.", ""]
    if table in ("table1", "table3", "table4"):
        lines += [FORM_NOTES[s.form], ""]
    if table == "table2":
        lines += ["| ranking | ours: rho | ours: p | methods | published rho |", "|---|---|---|---|---|"]
        for row, (paper,) in t["rows"].items():
            c = next((c for c in transfer or () if c.kind == "forget" and f"{c.track} vs multimodal" == row), None)
            lines.append(f"| {row} (forget) | {_fmt(c and c.rho, 3)} | {_fmt(c and c.p, 3)} | "
                         f"{', '.join(c.methods) if c else '–'} | {paper:.3f} |")
    else:
        groups = t.get("groups") or (None,)
        if table == "table4" and (s.preset != "paper" and not s.model):
            groups = groups[:1]
            lines += [f"The demo runs one model: its values stand beside the paper's {groups[0]} column.", ""]
        pub = published_values(table)
        head = [f"{g}: {c}" if g else c for g in groups for c in t["columns"]]
        lines += ["| method | " + " | ".join(head) + " |", "|---|" + "---|" * len(head)]
        rows = list(t["rows"]) + sorted({r for r, _ in ours if r not in t["rows"]})
        digits = 2
        for row in rows:
            cells_ = []
            for g in groups:
                for c in t["columns"]:
                    mine = (ours.get((row, g)) or {}).get(c)
                    paper = (pub.get((row, g)) or {}).get(c)
                    cells_.append(f"{_fmt(mine, digits)} / {_fmt(paper, digits)}")
            lines.append(f"| {row} | " + " | ".join(cells_) + " |")
    if claims_:
        lines += ["", "## Claims", "", "| claim | on the published table | on this run |", "|---|---|---|"]
        for c in claims_:
            lines.append(f"| {c['claim']} | {_verdict(c['published'])} ({c['published_detail']}) | "
                         f"{_verdict(c['ours'])} ({c['ours_detail']}) |")
    return "\n".join(lines) + "\n"


def _verdict(v) -> str:
    return {True: "holds", False: "does not hold", None: "cannot tell"}[v]


# --------------------------------------------------------------------------- the tables' claims


def _get(vals, row, col, group=None):
    return (vals.get((row, group)) or {}).get(col)


def _absent(rows, have) -> str:
    """"; not run: X, Y" for the claim's rows that have no value (the claim is judged on the others)."""
    present = {h[0] if isinstance(h, tuple) else h for h in have}
    missing = [r for r in rows if r not in present]
    return f"; not run: {', '.join(missing)}" if missing else ""


def _lose_retain(rows: Sequence[str], base: str, group=None):
    """Each of `rows` keeps less than half of `base`'s retain score."""
    def judge(vals):
        ref = _get(vals, base, "Retain", group)
        have = [(r, _get(vals, r, "Retain", group)) for r in rows if _get(vals, r, "Retain", group) is not None]
        if ref is None or not have:
            return None, "rows missing"
        ok = all(v < 0.5 * ref for _, v in have)
        return ok, ", ".join(f"{r} {v:.2f}" for r, v in have) + f" vs {base} {ref:.2f}" + _absent(rows, have)
    return judge


def _keep_but_hardly_forget(rows: Sequence[str]):
    """Each keeps >= 90 % of Base's retain score and its forget score is nearer Base's than Gold's."""
    def judge(vals):
        base_r, base_f, gold_f = (_get(vals, "Base", "Retain"), _get(vals, "Base", "Forget"),
                                  _get(vals, "Gold", "Forget"))
        have = [r for r in rows if _get(vals, r, "Retain") is not None and _get(vals, r, "Forget") is not None]
        if None in (base_r, base_f, gold_f) or not have:
            return None, "rows missing"
        ok = all(_get(vals, r, "Retain") >= 0.9 * base_r
                 and abs(_get(vals, r, "Forget") - base_f) < abs(_get(vals, r, "Forget") - gold_f) for r in have)
        return ok, ", ".join(f"{r} {_get(vals, r, 'Retain'):.2f}/{_get(vals, r, 'Forget'):.2f}" for r in have) + \
            f" (retain/forget) vs Base {base_r:.2f}/{base_f:.2f}, Gold forget {gold_f:.2f}" + _absent(rows, have)
    return judge


def _both_beats_text(vals):
    """More methods forget more (a lower Forget score) unlearning both modalities than text only, than fewer."""
    rows = sorted({r for r, g in vals if g == "both"} & {r for r, g in vals if g == "text"})
    pairs = [(_get(vals, r, "Forget", "both"), _get(vals, r, "Forget", "text")) for r in rows]
    pairs = [(b, t) for b, t in pairs if b is not None and t is not None]
    if not pairs:
        return None, "no method in both columns"
    lower, higher = sum(b < t for b, t in pairs), sum(b > t for b, t in pairs)
    return lower > higher, f"both forgets more for {lower} methods, less for {higher}, ties {len(pairs) - lower - higher}"


def _hardly_forget_visual(rows: Sequence[str]):
    def judge(vals):
        ref = _get(vals, "Original", "Forget")
        have = [(r, _get(vals, r, "Forget")) for r in rows if _get(vals, r, "Forget") is not None]
        if ref is None or not have:
            return None, "rows missing"
        return all(v >= ref - 5 for _, v in have), \
            ", ".join(f"{r} {v:.1f}" for r, v in have) + f" vs Original {ref:.1f} (forget acc %)" + _absent(rows, have)
    return judge


def _none_reaches_gold_ulira(vals):
    gold = _get(vals, "Gold", "U-LIRA")
    others = [(r, v["U-LIRA"]) for (r, _), v in vals.items() if r not in ("Gold", "Original")
              and v.get("U-LIRA") is not None]
    if gold is None or not others:
        return None, "rows missing"
    r, best = min(others, key=lambda x: abs(x[1] - 0.5))
    return abs(best - 0.5) > abs(gold - 0.5) + 0.05, f"closest to 0.5: {r} {best:.2f}, Gold {gold:.2f}"


def _text_predicts_better(vals):
    t, v = _get(vals, "text vs multimodal", "rho"), _get(vals, "visual vs multimodal", "rho")
    if t is None or v is None or t != t or v != v:
        return None, "a rho is missing"
    return t > v, f"rho text {t:.3f}, visual {v:.3f}"


CLAIMS = {
    "table1": (("GA, GD, KL and RMU lose the retain set (retain < half of Base's)",
                _lose_retain(("GA", "GD", "KL", "RMU"), "Base")),
               ("IDK, SCRUB and Retain FT keep the retain set but hardly forget",
                _keep_but_hardly_forget(("IDK", "SCRUB", "Retain FT")))),
    "table3": (("unlearning both modalities forgets more than text only (lower Forget, more methods than not)",
                _both_beats_text),),
    "table4": (("GA and KL lose the retain set on the text track too (retain < half of Original's)",
                _lose_retain(("GA", "KL"), "Original", "Llama-2-7B")),),
    "table5": (("Retain FT and SCRUB hardly forget (forget accuracy within 5 points of Original's)",
                _hardly_forget_visual(("Retain FT", "SCRUB"))),
               ("no method comes as close to 0.5 U-LIRA as Gold (by more than 0.05)", _none_reaches_gold_ulira)),
    "table2": (("the text ranking predicts the multimodal one better than the visual ranking does (rho text > "
                "rho visual)", _text_predicts_better),),
}


def claims(table: str, ours: Mapping) -> list[dict]:
    """Each claim of the table judged on the published values and on ours: True (holds), False, None (cannot
    tell: rows missing), with the figures it was judged on."""
    pub = published_values(table)
    out = []
    for text, judge in CLAIMS[table]:
        p, pd = judge(pub)
        o, od = judge(ours)
        out.append({"claim": text, "published": p, "published_detail": pd, "ours": o, "ours_detail": od})
    return out


def transfer_values(results: Sequence) -> tuple[dict, list | None, str | None]:
    """Table 2 from the grid's records: ({(row, None): {"rho": ...}}, the `Correlation`s, None); when the records
    cannot be ranked (a track without records, fewer than 3 methods in common: failed cells), ({}, None, why)."""
    from .leaderboard.transfer import transfer

    records = [(r.cell.out, r.record) for r in results if r.record is not None]
    try:
        correlations = transfer(records)
    except ClearBenchError as e:
        return {}, None, str(e)
    vals = {(f"{c.track} vs multimodal", None): {"rho": None if math.isnan(c.rho) else c.rho}
            for c in correlations if c.kind == "forget"}
    return vals, correlations, None
