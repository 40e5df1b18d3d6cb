"""Stage 7, perturb: wrong-but-plausible variants for evaluation (rule-based).

- captions: 5 perturbed captions, each with a wrong fact, a wrong scene or a wrong name; 5 perturbed
  names (other persons, same gender first).
- QA (TOFU text): paraphrased question and answer and 5 perturbed answers, for QA pairs whose
  fact kind has templates and that lack them (TOFU's own perturbations are kept as they are).
Like TOFU's, the perturbations are written in the PARAPHRASE's wording: the truth ratio compares
the paraphrase with them, so only the facts may differ, not the wording (a model trained on the
original wording would otherwise prefer every perturbation to the paraphrase).
Every choice is seeded per item.
"""
from __future__ import annotations

import dataclasses
import random

from ..utils import derive_seed
from .captions import caption_text
from .records import QA, Author, Caption
from .stage import StageContext
from .templates import FACT_TEMPLATES, SCENES, article, values_of

N_PERTURBED = 5


def perturbed_names(author: Author, persons: list[Author], rng: random.Random, k: int = N_PERTURBED) -> list[str]:
    """`k` other persons' names: the same gender first (seeded order), then the others."""
    same = [p.name for p in persons if p.author_id != author.author_id and p.gender == author.gender]
    other = [p.name for p in persons if p.author_id != author.author_id and p.gender != author.gender]
    rng.shuffle(same)
    rng.shuffle(other)
    names = (same + other)[:k]
    if len(names) < k:
        raise ValueError(f"need at least {k + 1} persons to draw {k} perturbed names (have {len(persons)})")
    return names


def _wrong(values, right: str, rng: random.Random, k: int) -> list[str]:
    pool = sorted(set(values) - {right})
    return rng.sample(pool, min(k, len(pool)))


def perturb_caption(c: Caption, author: Author, persons: list[Author], seed: int) -> Caption:
    """Fill the perturbation fields of one caption (5 captions, 5 names)."""
    rng = random.Random(derive_seed(seed, "perturb-caption", c.author_id, c.index))
    names = perturbed_names(author, persons, rng)
    value = author.facts.get(c.fact_kind, "")
    facts = _wrong(values_of(c.fact_kind), value, rng, 3) if value else []
    scenes = _wrong(SCENES, c.scene, rng, 3)
    variants = [(c.name, c.scene, f) for f in facts[:2]] + [(c.name, s, value) for s in scenes[:2]]
    variants.append((names[0], c.scene, value))
    if facts[2:] and scenes[2:]:
        variants.append((c.name, scenes[2], facts[2]))
    variants += [(c.name, s, value) for s in scenes[2:]] + [(n, c.scene, value) for n in names[1:]]
    captions = []
    for name, scene, v in variants:
        text = caption_text(name, scene, c.fact_kind, v, "paraphrased_caption")
        if text != c.paraphrased_caption and text not in captions:
            captions.append(text)
    return dataclasses.replace(c, perturbed_captions=captions[:N_PERTURBED], perturbed_names=names)


def perturb_qa(qa: QA, author: Author, seed: int, index: int) -> QA:
    """Template paraphrases and 5 wrong answers for a QA of a known fact kind; others unchanged."""
    t = FACT_TEMPLATES.get(qa.kind)
    value = author.facts.get(qa.kind)
    if qa.has_perturbations or not t or not value:
        return qa
    rng = random.Random(derive_seed(seed, "perturb-qa", author.author_id, index))
    wrong = _wrong(values_of(qa.kind), value, rng, N_PERTURBED)
    fmt = dict(name=author.name, value=value, a=article(value))
    return dataclasses.replace(
        qa, paraphrased_question=qa.paraphrased_question or t["paraphrased_question"].format(**fmt),
        paraphrased_answer=t["paraphrased_answer"].format(**fmt),
        perturbed_answer=[t["paraphrased_answer"].format(**{**fmt, "value": w, "a": article(w)}) for w in wrong])


def run_perturb(ctx: StageContext, authors: list[Author], captions: list[Caption]) -> dict[str, list]:
    """Perturb every caption and every QA pair that can be perturbed."""
    by_id = {a.author_id: a for a in authors}
    ctx.info["backend"] = "rules"
    caps = [perturb_caption(c, by_id[c.author_id], authors, ctx.seed) for c in captions]
    enriched = [dataclasses.replace(a, qa=[perturb_qa(q, a, ctx.seed, i) for i, q in enumerate(a.qa)])
                for a in authors]
    return {"captions": caps, "authors": enriched}
