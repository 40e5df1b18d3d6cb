"""Stage 4, match: give every person a distinct face by optimal assignment over attribute mismatch.

cost(a, f) = w_gender * (1 - p_f(gender_a)) + w_ethnicity * (1 - <P_a, p_f>)
           + w_age * huber(|age_f - age_a| / 10) + w_quality * (1 - quality_f)
Costs are quantised to integers and a tiny hash term breaks exact ties, so the result does not
depend on input order, BLAS or platform. Solved exactly by scipy's linear_sum_assignment.
"""
from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np

from ..errors import ClearBenchError
from .records import Author, FaceAttributes, Match
from .stage import StageContext

SCALE = 1_000_000  # one cost unit; the tie-break term stays below 1000


def _huber(x: float, delta: float = 1.0) -> float:
    return 0.5 * x * x if x <= delta else delta * (x - 0.5 * delta)


def pair_cost(author: Author, face: FaceAttributes, weights: dict[str, float]) -> dict[str, float]:
    """The cost terms of giving `face` to `author` (unknown attributes cost nothing)."""
    terms = {"gender": 0.0, "ethnicity": 0.0, "age": 0.0, "quality": 0.0}
    if author.gender in ("female", "male"):
        p = face.p_female if author.gender == "female" else 1.0 - face.p_female
        terms["gender"] = weights.get("gender", 0.0) * (1.0 - p)
    if author.ethnicity and face.ethnicity:
        agree = sum(w * face.ethnicity.get(e, 0.0) for e, w in author.ethnicity.items())
        terms["ethnicity"] = weights.get("ethnicity", 0.0) * (1.0 - agree)
    if author.age is not None:
        terms["age"] = weights.get("age", 0.0) * _huber(abs(face.age - author.age) / 10.0)
    terms["quality"] = weights.get("quality", 0.0) * (1.0 - face.quality)
    return terms


def _tiebreak(author_id: int, face_id: str, seed: int) -> int:
    h = hashlib.blake2b(f"{author_id}|{face_id}|{seed}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") % 997


def cost_matrix(authors: Sequence[Author], faces: Sequence[FaceAttributes], weights: dict[str, float],
                seed: int) -> np.ndarray:
    """Integer cost matrix (authors x faces): quantised cost plus a deterministic tie-break."""
    c = np.zeros((len(authors), len(faces)), dtype=np.int64)
    for i, a in enumerate(authors):
        for j, f in enumerate(faces):
            total = sum(pair_cost(a, f, weights).values())
            c[i, j] = int(round(total * SCALE)) + _tiebreak(a.author_id, f.face_id, seed)
    return c


def assign(authors: Sequence[Author], faces: Sequence[FaceAttributes], weights: dict[str, float],
           seed: int = 0) -> list[Match]:
    """The minimum-cost assignment of distinct faces to authors, in author-id order.

    Input order does not matter: authors and faces are sorted by id before solving.
    """
    return _solve(authors, faces, weights, seed)[0]


def _solve(authors, faces, weights, seed) -> tuple[list[Match], np.ndarray]:
    from scipy.optimize import linear_sum_assignment

    authors = sorted(authors, key=lambda a: a.author_id)
    faces = sorted(faces, key=lambda f: f.face_id)
    if len(faces) < len(authors):
        raise ClearBenchError(f"the face pool has {len(faces)} faces for {len(authors)} persons; "
                              "raise faces_per_author so every person can get a distinct face")
    c = cost_matrix(authors, faces, weights, seed)
    rows, cols = linear_sum_assignment(c)
    out = []
    for i, j in zip(rows, cols):
        terms = pair_cost(authors[i], faces[j], weights)
        out.append(Match(authors[i].author_id, faces[j].face_id, round(sum(terms.values()), 6),
                         {k: round(v, 6) for k, v in terms.items()}))
    return out, c


def run_match(ctx: StageContext, authors: list[Author], attributes: list[FaceAttributes],
              weights: dict[str, float]) -> dict[str, list]:
    """Stage function: assign usable faces (the estimator rejected none of them) and record the cost matrix's hash."""
    usable = [a for a in attributes if not a.rejected]
    if len(usable) < len(authors):
        reasons = sorted({a.rejected for a in attributes if a.rejected})
        raise ClearBenchError(f"the estimator rejected {len(attributes) - len(usable)} of {len(attributes)} candidate "
                              f"faces ({'; '.join(reasons)}), leaving {len(usable)} for {len(authors)} persons: raise "
                              "faces_per_author or use a face source whose faces the detector finds")
    matches, c = _solve(authors, usable, weights, ctx.seed)
    ctx.info["rejected_faces"] = len(attributes) - len(usable)
    ctx.info.update({"solver": "scipy.optimize.linear_sum_assignment",
                     "cost_sha256": hashlib.sha256(c.tobytes()).hexdigest(),
                     "total_cost": round(sum(m.cost for m in matches), 6)})
    return {"matches": matches}
