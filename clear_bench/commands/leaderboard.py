"""`clear-bench leaderboard RECORDS...`: markdown + HTML leaderboard, one section and trade-off plot per track."""
from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("leaderboard", help="build a leaderboard from submission records",
                       description="Validate submission records and build leaderboard.md, leaderboard.html and a "
                                   "trade-off plot per track, with the shipped demo baselines unless --no-baselines.")
    p.add_argument("records", nargs="*", help="submission.json files")
    p.add_argument("--out", default="leaderboard", help="output folder (default: leaderboard/)")
    p.add_argument("--no-baselines", action="store_true", help="leave out the shipped demo baselines")
    p.add_argument("--sort", default=None, metavar="KEY",
                   help="metric key to rank by, in its own direction (default per track: multimodal "
                        "forget_captions/forget_quality_js, text text_log_forget_quality, visual ulira, closest to "
                        "0.5), within each base model, ties broken by the keep score then the name; collapsed rows "
                        "rank last; target and gold are reference rows, never ranked")
    p.set_defaults(func=cmd_leaderboard)


def _claim(out) -> None:
    """`leaderboard --out`: a new or empty folder, or a leaderboard folder of ours; never a user's folder."""
    from .. import runs
    from .common import claim_output

    claim_output(out, runs.LEADERBOARD, "leaderboard.md", "# CLEAR leaderboard")


def cmd_leaderboard(args) -> int:
    from ..leaderboard.build import build

    _claim(args.out)
    files = build(args.records, args.out, include_baselines=not args.no_baselines, sort=args.sort)
    print(Path(files["markdown"]).read_text())
    print("written: " + ", ".join(str(p) for p in files.values()))
    return 0
