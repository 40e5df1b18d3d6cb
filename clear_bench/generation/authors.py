"""Stage 1, authors: the fictitious persons, their attributes, facts and QA.

Backends: `procedural` (seeded names and facts, 2 QA each; the demo) and `tofu` (the TOFU
authors, profiles extracted from their QA; see `tofu_source.py`).
"""
from __future__ import annotations

import random
from typing import Callable

from ..utils import derive_seed
from .config import GenerationConfig
from .records import QA, Author, TableRow
from .registry import Registry
from .stage import StageContext
from .templates import CITIES, REAL_AUTHORS, WORLD_FACTS, ETHNICITIES, FACT_ORDER, FIRST_FEMALE, FIRST_MALE, LAST, PROFESSIONS, \
    article, templates_for

AuthorSource = Callable[[GenerationConfig], "tuple[list[Author], list[TableRow]]"]
AUTHOR_SOURCES: Registry[AuthorSource] = Registry("author source")


def fact_qa(kind: str, name: str, value: str) -> QA:
    """The QA pair stating one fact, from the fact templates."""
    t = templates_for(kind)
    return QA(question=t["question"].format(name=name), answer=t["answer"].format(name=name, value=value,
                                                                                   a=article(value)), kind=kind)


def _names(rng: random.Random, genders: list[str]) -> list[str]:
    """Distinct "First Last" names; first and last names are not reused until a list runs out."""
    pools = {"female": list(FIRST_FEMALE), "male": list(FIRST_MALE)}
    for p in pools.values():
        rng.shuffle(p)
    lasts = list(LAST)
    rng.shuffle(lasts)
    names: list[str] = []
    used = {"female": 0, "male": 0}
    for g in genders:
        firsts, k = pools[g], used[g]
        used[g] += 1
        for attempt in range(10_000):
            name = f"{firsts[(k + attempt) % len(firsts)]} {lasts[(len(names) + attempt * 7) % len(lasts)]}"
            if name not in names:
                break
        names.append(name)
    return names


@AUTHOR_SOURCES.register("procedural")
def procedural_authors(config: GenerationConfig) -> tuple[list[Author], list[TableRow]]:
    """`authors` + `holdout_authors` seeded persons in a fixed order (holdout persons last), and the
    demo's TOFU `real_authors_perturbed` / `world_facts_perturbed` rows."""
    n = (config.authors or 20) + config.holdout_authors
    rng = random.Random(derive_seed(config.seed, "authors"))
    genders = [rng.choice(("female", "male")) for _ in range(n)]
    names = _names(rng, genders)
    cities, jobs = list(CITIES), list(PROFESSIONS)
    rng.shuffle(cities)
    rng.shuffle(jobs)
    authors = []
    for i, (name, gender) in enumerate(zip(names, genders)):
        facts = {"city": cities[i % len(cities)], "profession": jobs[(i * 5) % len(jobs)]}
        ethnicity = rng.choice(ETHNICITIES)
        authors.append(Author(author_id=i, name=name, gender=gender, age=rng.randint(25, 80),
                              ethnicity={e: float(e == ethnicity) for e in ETHNICITIES}, facts=facts,
                              qa=[fact_qa(k, name, facts[k]) for k in FACT_ORDER],
                              holdout=i >= n - config.holdout_authors))
    extras = [TableRow(cfg, {"question": q, "answer": a, "perturbed_answer": list(wrong)})
              for cfg, items in (("real_authors_perturbed", REAL_AUTHORS), ("world_facts_perturbed", WORLD_FACTS))
              for q, a, wrong in items]
    return authors, extras


def run_authors(ctx: StageContext, config: GenerationConfig) -> dict[str, list]:
    """The persons of `config` in a fixed order (regular ones, then holdout ones), and extra TOFU rows."""
    authors, extras = AUTHOR_SOURCES.get(config.author_source)(config)
    ctx.info["backend"] = config.author_source
    ids = [a.author_id for a in authors]
    if len(set(ids)) != len(ids) or len({a.name for a in authors}) != len(authors):
        raise ValueError(f"author source '{config.author_source}' returned duplicate ids or names")
    return {"authors": authors, "extras": extras}
