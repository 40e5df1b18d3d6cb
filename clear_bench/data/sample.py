"""The one sample type every source becomes at the edge."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Sample:
    """One question about an (optional) image with its answer variants.

    `options` holds distractors only: when a source's options contain the answer, the loader drops
    it, so scoring never counts the answer twice. `perturbed_answers` are wrong answers of the same
    form as the answer (TOFU's perturbations). `person` is the fictitious (or real) person the item
    is about, when known; `source` names where it came from (e.g. ``therem/CLEAR:forget10_perturbed``).
    `prefill` is text the assistant's turn already begins with (the prefill attack, `attacks/prefill.py`): every
    variant is scored, and generation continues, after it; "" for every ordinary item.
    """

    item_id: str
    question: str
    answer: str
    image: Any = None  # PIL.Image.Image or None (text-only row)
    paraphrased_answer: str | None = None
    perturbed_answers: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    person: str | None = None
    source: str = ""
    prefill: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def has_image(self) -> bool:
        return self.image is not None

    def with_answer(self, answer: str) -> "Sample":
        """The same item (same image, same question) with another answer: how variants are scored."""
        return replace(self, answer=answer)
