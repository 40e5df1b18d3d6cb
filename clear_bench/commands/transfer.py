"""`clear-bench transfer RECORDS...`: do single-domain rankings predict the multimodal one? (CLEAR Table 2)"""
from __future__ import annotations

from pathlib import Path

from ..errors import ClearBenchError


def add_parser(sub) -> None:
    p = sub.add_parser("transfer", help="Spearman's rho between each track's method ranking and the multimodal one",
                       description="Rank the methods of each track by its forget metric (and by its retain metric) "
                                   "and print Spearman's rho with its p-value for text / visual vs multimodal (CLEAR "
                                   "Table 2). Default records: the shipped demo records of every track.")
    p.add_argument("records", nargs="*", help="submission.json files or folders of them (default: shipped records)")
    p.add_argument("--out", default="transfer", help="folder for transfer.md and transfer.png (default: transfer)")
    p.add_argument("--key", action="append", default=[], metavar="TRACK:KIND=METRIC",
                   help="metric a track is ranked by, e.g. visual:forget=forget_accuracy (repeatable)")
    p.set_defaults(func=cmd_transfer)


def _claim(out: Path) -> None:
    """`transfer --out`: a new or empty folder, or a transfer folder of ours; a user's folder is refused."""
    from .. import runs
    from .common import claim_output

    claim_output(out, runs.TRANSFER, "transfer.md", "| track vs multimodal |")


def cmd_transfer(args) -> int:
    from ..leaderboard import transfer as tr
    from ..utils import atomic_write_text

    keys: dict[str, dict[str, str]] = {}
    for item in args.key:
        head, _, metric = item.partition("=")
        track, _, kind = head.partition(":")
        if not metric or track not in tr.TRACK_METRICS or kind not in tr.KINDS:
            raise ClearBenchError(f"--key '{item}' must look like TRACK:KIND=METRIC with TRACK one of "
                                  f"{', '.join(tr.TRACK_METRICS)} and KIND one of {', '.join(tr.KINDS)}")
        keys.setdefault(track, {})[kind] = metric
    correlations = tr.transfer(tr.load_records(args.records or tr.shipped_records()), keys)
    out = Path(args.out)
    _claim(out)  # never the user's transfer.md (issue 28.6)
    text = tr.render(correlations)
    atomic_write_text(out / "transfer.md", text)
    tr.figure(correlations, out / "transfer.png")
    print(text + f"\nwritten: {out / 'transfer.md'}, {out / 'transfer.png'}")
    return 0
