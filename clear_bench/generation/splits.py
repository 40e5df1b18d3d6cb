"""Stage 8, splits: the rows of every CLEAR and TOFU config, built by person.

forgetNN = the last max(1, round(N * NN / 100)) regular persons in order (TOFU's rule: the last
2/10/20 of 200); retainNN = the other regular persons; retain_perturbed = retain persons outside
the largest forget set (the first `retain_perturbed_authors` of them); holdout_perturbed = the
holdout persons, who appear in no other config.
"""
from __future__ import annotations

import math

from ..data.schema import CLEAR_SCHEMAS, FORGET_SIZES, RETAIN_OF, TOFU_SCHEMAS
from .records import Author, Caption, RealItem, Scene, TableRow
from .stage import StageContext


def forget_count(n_authors: int, percent: int) -> int:
    """How many of `n_authors` persons a forget `percent` takes (at least one, half rounds up)."""
    return max(1, math.floor(n_authors * percent / 100 + 0.5))


def person_splits(authors: list[Author], retain_perturbed_authors: int | None = None) -> dict[str, list[Author]]:
    """Persons per split name: forgetNN, retainNN, retain_perturbed, holdout, full."""
    authors = sorted(authors, key=lambda a: a.author_id)
    regular = [a for a in authors if not a.holdout]
    out = {"full": regular, "holdout": [a for a in authors if a.holdout]}
    for pct in FORGET_SIZES:
        k = forget_count(len(regular), pct)
        if k >= len(regular):
            raise ValueError(f"forget{pct:02d} would take all {len(regular)} authors; use more authors")
        out[f"forget{pct:02d}"], out[f"retain{RETAIN_OF[pct]}"] = regular[-k:], regular[:-k]
    largest = max(FORGET_SIZES)
    out["retain_perturbed"] = out[f"retain{RETAIN_OF[largest]}"][:retain_perturbed_authors]
    return out


def _image_rows(persons, caps, scenes, kind: str) -> list[dict]:
    ids = {a.author_id for a in persons}
    rows = []
    for c in caps:
        if c.author_id not in ids:
            continue
        image = scenes[(c.author_id, c.index)].image
        if kind == "plain":
            rows.append({"image": image, "caption": c.caption, "name": c.name})
        elif kind == "perturbed":
            rows.append({"image": image, "caption": c.caption, "name": c.name,
                         "paraphrased_caption": c.paraphrased_caption, "perturbed_captions": c.perturbed_captions,
                         "perturbed_names": c.perturbed_names})
        else:
            rows.append({"image": image, "caption": c.caption, "question": None, "answer": None, "name": c.name})
    return rows


def _qa_rows(persons, kind: str) -> list[dict]:
    rows = []
    for a in persons:
        for q in a.qa:
            if kind == "plain":
                rows.append({"question": q.question, "answer": q.answer})
            elif kind == "mixed":
                rows.append({"image": None, "caption": None, "question": q.question, "answer": q.answer,
                             "name": a.name})
            elif q.has_perturbations:
                rows.append({"question": q.question, "answer": q.answer, "paraphrased_answer": q.paraphrased_answer,
                             "perturbed_answer": q.perturbed_answer,
                             "paraphrased_question": q.paraphrased_question or q.question})
    return rows


def build_tables(authors: list[Author], scenes: list[Scene], captions: list[Caption], real: list[RealItem],
                 extras: list[TableRow], retain_perturbed_authors: int | None = None) -> dict[str, list[TableRow]]:
    """Rows of every CLEAR config (`clear`) and TOFU config (`tofu`), in schema order."""
    persons = person_splits(authors, retain_perturbed_authors)
    scene_of = {(s.author_id, s.index): s for s in scenes}
    caps = sorted(captions, key=lambda c: (c.author_id, c.index))
    clear: dict[str, list[dict]] = {}
    tofu: dict[str, list[dict]] = {}
    for split in ["full"] + [f"forget{p:02d}" for p in FORGET_SIZES] + [f"retain{RETAIN_OF[p]}" for p in FORGET_SIZES]:
        clear[split] = _image_rows(persons[split], caps, scene_of, "plain")
        clear[f"{split}+tofu"] = _image_rows(persons[split], caps, scene_of, "mixed") + _qa_rows(persons[split], "mixed")
        tofu[split] = _qa_rows(persons[split], "plain")
    clear["default"] = clear["full"]
    for split in [f"forget{p:02d}" for p in FORGET_SIZES] + ["retain_perturbed", "holdout"]:
        name = f"{split}_perturbed" if split != "retain_perturbed" else split
        clear[name] = _image_rows(persons[split], caps, scene_of, "perturbed")
        tofu[name] = _qa_rows(persons[split], "perturbed")
    clear["real_faces"] = [{"image": r.image, "answer": r.answer, "options": r.options} for r in real if r.kind == "face"]
    clear["real_world"] = [{"question": r.question, "answer": r.answer, "image": r.image, "prompt": r.prompt,
                            "options": r.options} for r in real if r.kind == "world"]
    for row in extras:
        tofu.setdefault(row.config, []).append(row.values)
    return {"clear": [TableRow(c, v) for c in CLEAR_SCHEMAS for v in clear.get(c, [])],
            "tofu": [TableRow(c, v) for c in TOFU_SCHEMAS for v in tofu.get(c, [])]}


def run_splits(ctx: StageContext, authors, scenes, captions, real, extras, retain_perturbed_authors=None):
    tables = build_tables(authors, scenes, captions, real, extras, retain_perturbed_authors)
    persons = person_splits(authors, retain_perturbed_authors)
    ctx.info["persons"] = {k: [a.name for a in v] for k, v in persons.items() if k != "full"}
    return tables
