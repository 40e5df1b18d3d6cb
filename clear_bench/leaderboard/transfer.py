"""Cross-track transfer (CLEAR Table 2): do single-domain rankings of unlearning methods predict the
multimodal ranking?

Records of two or three tracks (multimodal, text, visual) are grouped by their "track" (records
without one are the multimodal track's). In each track the methods are ranked by the track's forget
metric (and separately by its retain metric); Spearman's rho (`scipy.stats.spearmanr`, ties get
average ranks) is computed between each single-domain track and the multimodal one, over the methods
both tracks have. The paper reports rho = 0.705 (text vs multimodal) and 0.205 (visual vs multimodal)
for the forget ranking. A collapsed run (its keep score below half the target's, as the leaderboard judges
it: `table.collapsed`) ranks last, as on the board, not as the best forgetter.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from ..errors import ClearBenchError
from .build import TRACKS, entry_goal, oriented
from .records import load_record
from .table import collapsed

REFERENCE = "multimodal"
# Per track: (forget metric, retain metric) keys of its records; `--key track:forget=KEY` overrides one.
# (the leaderboard's per-track forget and retain columns: `build.TRACKS`)
TRACK_METRICS: dict[str, dict[str, str]] = {t: {"forget": b.forget, "retain": b.retain} for t, b in TRACKS.items()}
KINDS = ("forget", "retain")


def track_of(record: Mapping) -> str:
    return record.get("track") or REFERENCE


def group_records(records: Sequence[tuple[str, dict]]) -> dict[str, dict[str, dict]]:
    """{track: {method: record}} from (where, record) pairs; refuses mixed forget sizes or presets, and two
    records of one method on one track, each in one line."""
    if not records:
        raise ClearBenchError("no submission records given")
    first_where, first = records[0]
    by_track: dict[str, dict[str, dict]] = {}
    for where, r in records:
        for what, mine, theirs in (("forget size", r["forget"], first["forget"]),
                                   ("preset", r["config"].get("preset"), first["config"].get("preset"))):
            if mine != theirs:
                raise ClearBenchError(f"{where} has {what} {mine}, {first_where} has {theirs}: compare records of one "
                                      f"{what} only")
        track = track_of(r)
        if track not in TRACK_METRICS:
            raise ClearBenchError(f"{where}: unknown track '{track}'; valid: {', '.join(TRACK_METRICS)}")
        methods = by_track.setdefault(track, {})
        if r["method"] in methods:
            raise ClearBenchError(f"{where}: a second record of method '{r['method']}' on the {track} track; pass one "
                                  "record per method and track")
        methods[r["method"]] = r
    return by_track


def metric_values(records: Mapping[str, dict], key: str, track: str) -> dict[str, float]:
    """{method: value} of `key`, oriented so that higher is better (lower-is-better metrics negated, a metric with
    a target value by minus its distance to it); a metric without a direction is refused in one line. Collapsed
    runs come after every other (ties among themselves), as on the leaderboard."""
    out, fallen = {}, []
    for method, r in records.items():
        entry = r["metrics"].get(key)
        if entry is None or entry.get("value") is None:
            continue
        target = entry_goal(entry)
        if target is None:
            raise ClearBenchError(f"the {track} track's metric '{key}' has no direction (neither higher- nor "
                                  "lower-is-better, nor a target value): a ranking by it means nothing; pick a key "
                                  "with an arrow in `clear-bench ls metrics`")
        if track in TRACKS and collapsed(r, TRACKS[track]):
            fallen.append(method)
            continue
        out[method] = oriented(float(entry["value"]), target)
    if not out and not fallen:
        raise ClearBenchError(f"no {track}-track record has the metric '{key}'")
    floor = min(out.values(), default=0.0) - 1.0
    return {**out, **{m: floor for m in fallen}}


def ranks(values: Mapping[str, float]) -> dict[str, float]:
    """Rank 1 = best (highest oriented value); ties share their average rank (as spearmanr ranks)."""
    from scipy.stats import rankdata

    methods = list(values)
    r = rankdata([-values[m] for m in methods], method="average")
    return {m: float(x) for m, x in zip(methods, r)}


@dataclass
class Correlation:
    """Spearman's rho between a single-domain track's ranking and the multimodal one."""

    track: str
    kind: str  # forget | retain
    methods: list[str]
    rho: float
    p: float
    ranks: dict[str, tuple[float, float]] = field(default_factory=dict)  # method -> (track rank, multimodal rank)


def spearman(a: Mapping[str, float], b: Mapping[str, float]) -> tuple[float, float, list[str]]:
    """rho and p-value over the methods in both mappings (at least 3)."""
    import warnings

    from scipy.stats import ConstantInputWarning, spearmanr

    common = sorted(set(a) & set(b))
    if len(common) < 3:
        raise ClearBenchError(f"Spearman's rho needs at least 3 methods in both tracks; common: "
                              f"{', '.join(common) or 'none'}")
    with warnings.catch_warnings():  # a constant ranking: rho is undefined (NaN, reported as n/a)
        warnings.simplefilter("ignore", ConstantInputWarning)
        res = spearmanr([a[m] for m in common], [b[m] for m in common])
    return float(res.statistic), float(res.pvalue), common


def transfer(records: Sequence[tuple[str, dict]], keys: Mapping[str, Mapping[str, str]] | None = None
             ) -> list[Correlation]:
    """Correlations of every single-domain track with the multimodal one, for the forget and retain rankings."""
    by_track = group_records(records)
    if REFERENCE not in by_track:
        raise ClearBenchError("no multimodal-track record given: the transfer compares each track with it")
    others = [t for t in by_track if t != REFERENCE]
    if not others:
        raise ClearBenchError("records of only the multimodal track: give text and/or visual records too")
    keys = {t: {**TRACK_METRICS[t], **(keys or {}).get(t, {})} for t in by_track}
    out = []
    for kind in KINDS:
        ref = metric_values(by_track[REFERENCE], keys[REFERENCE][kind], REFERENCE)
        for track in sorted(others):
            mine = metric_values(by_track[track], keys[track][kind], track)
            rho, p, common = spearman(mine, ref)
            rm, rr = ranks({m: mine[m] for m in common}), ranks({m: ref[m] for m in common})
            out.append(Correlation(track, kind, common, rho, p, {m: (rm[m], rr[m]) for m in common}))
    return out


def render(correlations: Sequence[Correlation]) -> str:
    """Markdown: rho and p per track and ranking, then the ranks behind each."""
    lines = ["| track vs multimodal | ranking | methods | Spearman rho | p-value |", "|---|---|---|---|---|"]
    for c in correlations:
        lines.append(f"| {c.track} | {c.kind} | {len(c.methods)} | {_num(c.rho)} | {_num(c.p)} |")
    for c in correlations:
        lines += ["", f"{c.kind} ranking, {c.track} vs multimodal (1 = best): "
                  + ", ".join(f"{m} {a:g}/{b:g}" for m, (a, b) in sorted(c.ranks.items(), key=lambda x: x[1]))]
    methods = sorted({m for c in correlations for m in c.methods})
    lines += ["", f"methods used: {', '.join(methods)}"]
    return "\n".join(lines) + "\n"


def _num(x: float) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{x:.3f}"


def figure(correlations: Sequence[Correlation], out: str | Path) -> Path:
    """One figure: per single-domain track, its forget rank against the multimodal forget rank."""
    from ..eval.plots import _pyplot, _save

    plt = _pyplot()
    forget = [c for c in correlations if c.kind == "forget"]
    fig, axes = plt.subplots(1, len(forget), figsize=(4.6 * len(forget), 4.2), squeeze=False)
    for ax, c in zip(axes[0], forget):
        n = len(c.methods)
        ax.plot([1, n], [1, n], color="grey", lw=0.8, ls="--")
        for m, (a, b) in c.ranks.items():
            ax.scatter([b], [a], s=30)
            ax.annotate(m, (b, a), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel("multimodal forget rank (1 = forgets most)")
        ax.set_ylabel(f"{c.track} forget rank")
        ax.set_title(f"{c.track} vs multimodal: rho {_num(c.rho)}, p {_num(c.p)}", fontsize=10)
        ax.grid(alpha=0.3)
    return _save(fig, out)


def load_records(paths: Sequence[str | Path]) -> list[tuple[str, dict]]:
    """(path, record) of every record file; a folder stands for the *.json records in it and the submission.json
    of every run folder below it (a folder of runs, as `runs/`)."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = set(p.glob("*.json")) | set(p.rglob("submission.json"))
            files += sorted(f for f in found if not any(part.startswith(".") for part in f.relative_to(p).parts))
        else:
            files.append(p)
    if not files:
        raise ClearBenchError(f"no records in {', '.join(map(str, paths))}")
    return [(str(f), load_record(f)) for f in files]


def shipped_records() -> list[Path]:
    """The shipped demo records of every track (multimodal in baselines/, the others in baselines/<track>/)."""
    from importlib import resources

    root = Path(str(resources.files("clear_bench") / "resources" / "baselines"))
    if not root.is_dir():
        return []
    return sorted(root.glob("*.json")) + sorted(root.glob("*/*.json"))
