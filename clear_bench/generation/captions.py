"""Stage 6, captions: one sentence per scene that starts with the full name and states one fact.

Backend `template` (the only one so far): "Anna Stone sits at a desk in Lyon." with the paraphrase
"In Lyon, Anna Stone sits at a desk." A VLM captioner would register in `CAPTIONERS` and must
keep the caption starting with the full name.
"""
from __future__ import annotations

from .records import Author, Caption, Scene
from .registry import Registry
from .stage import StageContext
from .templates import fill, templates_for

CAPTIONERS: Registry = Registry("captioner")


def caption_text(name: str, scene: str, kind: str, value: str, field: str = "caption") -> str:
    """The caption (or `field="paraphrased_caption"`) of a scene stating fact `kind` = `value`."""
    return fill(templates_for(kind if value else "")[field], name=name, value=value, scene=scene)


@CAPTIONERS.register("template")
def template_captions(authors: list[Author], scenes: list[Scene]) -> list[Caption]:
    by_id = {a.author_id: a for a in authors}
    out = []
    for s in scenes:
        a = by_id[s.author_id]
        value = a.facts.get(s.fact_kind, "")
        cap = caption_text(a.name, s.scene, s.fact_kind, value)
        if not cap.startswith(a.name):
            raise ValueError(f"caption of {a.name} scene {s.index} does not start with the name: {cap!r}")
        out.append(Caption(s.author_id, s.index, a.name, s.scene, s.fact_kind, cap,
                           caption_text(a.name, s.scene, s.fact_kind, value, "paraphrased_caption")))
    return out


def run_captions(ctx: StageContext, authors: list[Author], scenes: list[Scene], captioner: str = "template"):
    ctx.info["backend"] = captioner
    return {"captions": CAPTIONERS.get(captioner)(authors, scenes)}
