"""Identity audit: do a person's scene images show the person of their matched face?

Every person's matched face and the face found in each of their scene images are embedded with dlib's ResNet
(`facemodels.py`, the `faces` extra). An image keeps the identity when its face is within dlib's documented
0.6 Euclidean distance of the person's own face. Per person and overall: detection rate, same-identity rate
(undetected images count as failures), the distance to their own face vs the nearest other person's face, and
every failing image with its reason. `write_report` adds a histogram of the two distances and a contact sheet
of the worst persons (their face, then their scene images, failures framed red).

Input: a published folder (`faces/persons.json` and the CLEAR configs' `image`/`name` rows), see `load_published`.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import ClearBenchError
from .facemodels import SAME_PERSON

Loader = Callable[[], Any]  # returns a PIL image


@dataclass
class PersonImages:
    """One person: their matched face and their scene images (label, loader) to check against it."""

    name: str
    face: Loader
    scenes: list[tuple[str, Loader]] = field(default_factory=list)


def _open(data: bytes):
    from PIL import Image

    return Image.open(io.BytesIO(data)).convert("RGB")


def load_published(root: str | Path) -> list[PersonImages]:
    """The persons of a published folder: faces/persons.json and the scene images of `clear/data` (every
    regular person) and `clear/holdout_perturbed` (holdout persons), grouped by the `name` column."""
    import pyarrow.parquet as pq

    from .publish import FACES_INDEX, PARQUET

    root = Path(root)
    index = root / FACES_INDEX
    if not index.is_file():
        raise ClearBenchError(f"{root} has no {FACES_INDEX} (the matched face of each person): audit a folder written "
                              "by clear-generate (an older one: generate it again)")
    faces = json.loads(index.read_text())
    persons = {name: PersonImages(name, lambda p=root / rel: _open(p.read_bytes())) for name, rel in faces.items()}
    for config in ("data", "holdout_perturbed"):
        path = root / "clear" / config / PARQUET
        if not path.is_file():
            continue
        table = pq.read_table(path, columns=["image", "name"]).to_pylist()
        for i, row in enumerate(table):
            if row["image"] is None or row["name"] not in persons:
                continue
            label = row["image"].get("path") or f"{config}[{i}]"
            persons[row["name"]].scenes.append((label, lambda b=row["image"]["bytes"]: _open(b)))
    return [persons[n] for n in sorted(persons)]


def _embed_one(models, image) -> tuple[Any, int]:
    """(embedding of the best-scoring face or None, number of faces found)."""
    found = models.detect(image)
    return (models.embed(image, found[0]) if found else None), len(found)


def audit(persons: list[PersonImages], models=None, progress: Callable = lambda it, **kw: it) -> dict:
    """The audit report (a JSON-able dict): `persons` (one row each, worst first), `overall`, `models`."""
    import numpy as np

    from .facemodels import face_models

    if not persons:
        raise ClearBenchError("nothing to audit: no persons")
    models = models or face_models()
    refs, ref_faces = {}, {}
    for p in progress(persons, desc="audit faces"):
        refs[p.name], ref_faces[p.name] = _embed_one(models, p.face())
    known = {n: e for n, e in refs.items() if e is not None}
    rows = []
    for p in progress(persons, desc="audit scenes"):
        own_ref, failures, own, other, per_image, detected, same = refs[p.name], [], [], [], [], 0, 0
        others = np.array([e for n, e in known.items() if n != p.name])
        for label, load in p.scenes:
            emb, n_faces = _embed_one(models, load())
            item = {"image": label, "faces": n_faces, "own": None, "other": None, "same": False}
            per_image.append(item)
            if emb is None:
                failures.append({"image": label, "reason": "no face detected"})
                continue
            detected += 1
            if len(others):
                item["other"] = round(float(np.min(np.linalg.norm(others - emb, axis=1))), 4)
                other.append(item["other"])
            if own_ref is None:
                failures.append({"image": label, "reason": "their matched face has no detected face"})
                continue
            item["own"] = round(float(np.linalg.norm(emb - own_ref)), 4)
            own.append(item["own"])
            item["same"] = item["own"] < SAME_PERSON
            if item["same"]:
                same += 1
            else:
                failures.append({"image": label, "reason": f"distance {item['own']:.3f} to their face >= {SAME_PERSON}"})
            if n_faces > 1:
                failures.append({"image": label, "reason": f"{n_faces} faces (the best-scoring one was used)"})
        n = len(p.scenes)
        rows.append({"name": p.name, "images": n, "face_detected": own_ref is not None, "face_count": ref_faces[p.name],
                     "detected": detected, "detection_rate": detected / n if n else 0.0, "same": same,
                     "same_identity_rate": same / n if n else 0.0,
                     "own_distance": _stats(own), "nearest_other_distance": _stats(other),
                     "own": own, "nearest_other": other, "per_image": per_image, "failures": failures})
    rows.sort(key=lambda r: (r["same_identity_rate"], -(r["own_distance"]["mean"] or 0.0), r["name"]))
    images = sum(r["images"] for r in rows)
    overall = {"persons": len(rows), "images": images, "faces_detected": sum(r["face_detected"] for r in rows),
               "detection_rate": sum(r["detected"] for r in rows) / images if images else 0.0,
               "same_identity_rate": sum(r["same"] for r in rows) / images if images else 0.0,
               "own_distance": _stats([d for r in rows for d in r["own"]]),
               "nearest_other_distance": _stats([d for r in rows for d in r["nearest_other"]]),
               "threshold": SAME_PERSON}
    return {"overall": overall, "persons": rows, "models": models.info}


def _stats(values: list[float]) -> dict:
    import numpy as np

    if not values:
        return {"n": 0, "mean": None, "median": None, "min": None, "max": None}
    a = np.asarray(values)
    return {"n": len(a), "mean": round(float(a.mean()), 4), "median": round(float(np.median(a)), 4),
            "min": round(float(a.min()), 4), "max": round(float(a.max()), 4)}


def _fmt(x) -> str:
    return "-" if x is None else f"{x:.3f}"


def render_table(report: dict) -> str:
    """The per-person table and the overall line, as Markdown."""
    lines = ["| person | face found | images | detected | same identity | own dist (mean) | nearest other (mean) "
             "| failing images |", "|---|---|---|---|---|---|---|---|"]
    for r in report["persons"]:
        fails = ", ".join(f["image"] for f in r["failures"][:4]) + (" ..." if len(r["failures"]) > 4 else "")
        lines.append(f"| {r['name']} | {'yes' if r['face_detected'] else 'NO'} | {r['images']} | "
                     f"{r['detection_rate']:.0%} | {r['same_identity_rate']:.0%} | {_fmt(r['own_distance']['mean'])} "
                     f"| {_fmt(r['nearest_other_distance']['mean'])} | {fails or '-'} |")
    o = report["overall"]
    lines.append("")
    lines.append(f"overall: {o['persons']} persons ({o['faces_detected']} matched faces detected), {o['images']} "
                 f"images: detection {o['detection_rate']:.1%}, same identity (distance < {o['threshold']}) "
                 f"{o['same_identity_rate']:.1%}; own distance mean {_fmt(o['own_distance']['mean'])}, nearest other "
                 f"person's mean {_fmt(o['nearest_other_distance']['mean'])}")
    return "\n".join(lines)


def plot_distances(report: dict, path: Path) -> Path:
    """Histogram of the distance to the person's own face vs the nearest other person's, with the threshold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    own = [d for r in report["persons"] for d in r["own"]]
    other = [d for r in report["persons"] for d in r["nearest_other"]]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    bins = [i / 40 for i in range(0, 57)]  # 0 .. 1.4
    if own:
        ax.hist(own, bins=bins, alpha=0.6, label=f"own face (n={len(own)})")
    if other:
        ax.hist(other, bins=bins, alpha=0.6, label=f"nearest other person (n={len(other)})")
    ax.axvline(SAME_PERSON, color="k", ls="--", lw=1, label=f"same person below {SAME_PERSON}")
    ax.set_xlabel("Euclidean distance of dlib face embeddings")
    ax.set_ylabel("scene images")
    o = report["overall"]
    ax.set_title(f"identity audit: detection {o['detection_rate']:.0%}, same identity {o['same_identity_rate']:.0%}",
                 fontsize=10)
    if not own and not other:
        ax.text(0.5, 0.5, "no face detected in any image", ha="center", va="center", transform=ax.transAxes)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def contact_sheet(report: dict, persons: list[PersonImages], path: Path, worst: int = 8, cell: int = 96,
                  per_row: int = 8) -> Path:
    """A grid image: one row per worst person, their matched face (blue frame) then their scene images, each
    labelled with its distance to the face; failing images framed red, passing ones green."""
    from PIL import Image, ImageDraw

    by_name = {p.name: p for p in persons}
    rows = [r for r in report["persons"][:worst]]
    label_h = 14
    sheet = Image.new("RGB", ((per_row + 1) * cell, max(1, len(rows)) * (cell + label_h)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for y, r in enumerate(rows):
        p = by_name[r["name"]]
        tiles = [(p.face(), r["name"][:14], (40, 80, 220))]
        for (label, load), item in list(zip(p.scenes, r["per_image"]))[:per_row]:
            text = "no face" if not item["faces"] else "-" if item["own"] is None else f"{item['own']:.2f}"
            tiles.append((load(), text, (40, 170, 60) if item["same"] else (220, 40, 40)))
        for x, (im, text, colour) in enumerate(tiles):
            x0, y0 = x * cell, y * (cell + label_h)
            sheet.paste(im.resize((cell - 6, cell - 6)), (x0 + 3, y0 + 3))
            draw.rectangle([x0 + 1, y0 + 1, x0 + cell - 2, y0 + cell - 2], outline=colour, width=2)
            draw.text((x0 + 3, y0 + cell), text, fill=(0, 0, 0))
    sheet.save(path, format="PNG")
    return path


def write_report(report: dict, persons: list[PersonImages], out: str | Path, worst: int = 8) -> dict[str, Path]:
    """report.json, report.md, distances.png and contact_sheet.png in `out`; returns their paths."""
    from ..utils import atomic_write_json, atomic_write_text

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "table": out / "report.md", "plot": out / "distances.png",
             "sheet": out / "contact_sheet.png"}
    atomic_write_json(paths["json"], report)
    atomic_write_text(paths["table"], render_table(report) + "\n")
    plot_distances(report, paths["plot"])
    contact_sheet(report, persons, paths["sheet"], worst=worst)
    return paths
