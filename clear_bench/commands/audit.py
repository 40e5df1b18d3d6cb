"""`clear-bench audit-identity`: do every person's scene images show the person of their matched face?"""
from __future__ import annotations

from pathlib import Path


def data_folder(data: str) -> Path:
    """A published folder, or 'demo' (the built-in demo dataset, built on first use)."""
    from ..presets import demo_data_dir
    from ..errors import ClearBenchError

    if data == "demo":
        return demo_data_dir()
    path = Path(data)
    if not path.is_dir():
        raise ClearBenchError(f"--data {data}: no such folder (give a folder written by clear-generate, or 'demo')")
    return path


def run_identity_audit(data: str, detector: str = "hog", progress: bool = True):
    """(report, persons, folder) of the audit of `data`; a one-line error without the faces extra."""
    from ..generation.audit import audit, load_published
    from ..generation.facemodels import face_models, require
    from ..progress import progress_bar

    require("the identity audit")
    folder = data_folder(data)
    persons = load_published(folder)
    report = audit(persons, face_models(detector),
                   progress=lambda it, **kw: progress_bar(it, disable=not progress, leave=False, **kw))
    return report, persons, folder


def add_parser(sub) -> None:
    p = sub.add_parser("audit-identity", help="check that each person's scene images show their matched face",
                       description="Embed every person's matched face and the face in each of their scene images "
                                   "(dlib's face models, the faces extra) and report, per person and overall, the "
                                   "detection rate, the same-identity rate (distance < 0.6) and the failing images.")
    p.add_argument("--data", required=True, help="a folder written by clear-generate (with faces/), or 'demo'")
    p.add_argument("--out", type=Path, default=None,
                   help="where report.json, report.md, distances.png and contact_sheet.png go (default: DATA/audit)")
    p.add_argument("--detector", default="hog", choices=("hog", "cnn"), help="dlib face detector (default: hog)")
    p.add_argument("--worst", type=int, default=8, help="persons on the contact sheet, worst first (default: 8)")
    p.add_argument("--quiet", action="store_true", help="no progress")
    p.set_defaults(func=cmd_audit_identity)


def cmd_audit_identity(args) -> int:
    from ..generation.audit import render_table, write_report

    report, persons, folder = run_identity_audit(args.data, args.detector, progress=not args.quiet)
    paths = write_report(report, persons, args.out or folder / "audit", worst=args.worst)
    print(render_table(report))
    print(f"wrote {paths['json']}, {paths['plot'].name}, {paths['sheet'].name}")
    return 0
