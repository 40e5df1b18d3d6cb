"""Face-to-author assignment: optimal (equals brute force), order-invariant, one face per person."""
from __future__ import annotations

import itertools
import random

import pytest

from clear_bench.errors import ClearBenchError
from clear_bench.generation.match import assign, cost_matrix
from clear_bench.generation.records import Author, FaceAttributes

LABELS = ("White", "Black", "East Asian")
WEIGHTS = {"gender": 3.0, "ethnicity": 2.0, "age": 1.0, "quality": 0.5}


def instance(rng: random.Random, n_authors: int, n_faces: int):
    authors = [Author(i, f"P{i}", rng.choice(("female", "male", "unknown")), rng.randint(20, 85),
                      {rng.choice(LABELS): 1.0}, {}, []) for i in range(n_authors)]
    faces = [FaceAttributes(f"f{j:03d}", rng.random(), rng.uniform(18, 90),
                            {e: w / 3 for e, w in zip(LABELS, rng.sample((1, 0.5, 1.5), 3))}, rng.random())
             for j in range(n_faces)]
    return authors, faces


def brute_force(c) -> int:
    n, m = c.shape
    return min(sum(c[i, cols[i]] for i in range(n)) for cols in itertools.permutations(range(m), n))


@pytest.mark.parametrize("trial", range(12))
def test_equals_brute_force(trial):
    rng = random.Random(trial)
    n = rng.randint(1, 5)
    authors, faces = instance(rng, n, rng.randint(n, 7))
    c = cost_matrix(authors, faces, WEIGHTS, seed=trial)
    col = {f.face_id: j for j, f in enumerate(faces)}
    got = sum(c[m.author_id, col[m.face_id]] for m in assign(authors, faces, WEIGHTS, seed=trial))
    assert got == brute_force(c)


def test_invariant_to_input_order_and_faces_used_once():
    authors, faces = instance(random.Random(7), 12, 30)
    base = [(m.author_id, m.face_id) for m in assign(authors, faces, WEIGHTS, seed=3)]
    assert len({f for _, f in base}) == len(base) == 12
    assert [a for a, _ in base] == sorted(a.author_id for a in authors)
    for k in range(5):
        rng = random.Random(k)
        a2, f2 = authors[:], faces[:]
        rng.shuffle(a2)
        rng.shuffle(f2)
        assert [(m.author_id, m.face_id) for m in assign(a2, f2, WEIGHTS, seed=3)] == base


def test_exact_ties_are_broken_deterministically():
    authors = [Author(i, f"P{i}", "female", 40, {"White": 1.0}, {}, []) for i in range(3)]
    faces = [FaceAttributes(f"f{j}", 1.0, 40.0, {"White": 1.0}) for j in range(5)]
    first = assign(authors, faces, WEIGHTS, seed=0)
    assert all(m.cost == 0 for m in first)
    assert [m.face_id for m in first] == [m.face_id for m in assign(authors[::-1], faces[::-1], WEIGHTS, seed=0)]


def test_matching_prefers_the_right_attributes():
    authors = [Author(0, "A", "female", 70, {"Black": 1.0}, {}, []), Author(1, "B", "male", 25, {"White": 1.0}, {}, [])]
    faces = [FaceAttributes("young-white-man", 0.0, 24.0, {"White": 1.0}),
             FaceAttributes("old-black-woman", 1.0, 72.0, {"Black": 1.0})]
    assert {m.author_id: m.face_id for m in assign(authors, faces, WEIGHTS)} == {0: "old-black-woman",
                                                                               1: "young-white-man"}


def test_pool_smaller_than_persons_is_an_error():
    authors, faces = instance(random.Random(0), 4, 3)
    with pytest.raises(ClearBenchError, match="faces_per_author"):
        assign(authors, faces, WEIGHTS)
