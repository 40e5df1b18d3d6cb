"""Per-item evaluation records: what the scorer measures, from which every metric is recomputed.

One `ItemRecord` per evaluated item. The scorer (model side) fills it; the metrics and reports
(this package) only ever read records, so any aggregate can be recomputed later without a model.

Conventions for the scorer:
- NLLs are natural-log negative log-likelihoods SUMMED over the scored tokens of one answer
  variant, conditioned on the image (if any) and the prompt. The scored tokens are the answer's
  tokens plus the end-of-turn token the chat template appends (the tokens training supervises);
  `*_tokens` is their count. Every variant of an item uses the same prompt.
- `paraphrase_*` may be None when the task's paraphrase is the answer itself (face->name, real
  faces, real world): metrics then use the answer's numbers, as the reference does.
- `perturbed_*` are the wrong answers of the task's perturbed column (perturbed captions,
  perturbed names, or the distractor options with the answer removed), in column order.
- `token_logprobs[t]` = log p(answer token t); `token_mu[t]` and `token_sigma[t]` are the mean and
  standard deviation of log p(v) under v ~ p(. | prefix) at that position (Min-K%++). All three
  cover the same scored tokens as `answer_nll` (so -sum(token_logprobs) == answer_nll).
- `generation` is the greedy continuation given image + prompt; `rouge_l` its ROUGE-L recall
  against `answer` (see metrics.rouge), or None if not computed yet.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..errors import ClearBenchError


@dataclass
class ItemRecord:
    """One evaluated item (see the module docstring for how each field is measured)."""

    item_id: str
    task: str
    answer: str
    answer_nll: float
    answer_tokens: int
    person: str | None = None
    paraphrase_nll: float | None = None
    paraphrase_tokens: int | None = None
    perturbed_nll: list[float] = field(default_factory=list)
    perturbed_tokens: list[int] = field(default_factory=list)
    token_logprobs: list[float] | None = None
    token_mu: list[float] | None = None
    token_sigma: list[float] | None = None
    generation: str | None = None
    rouge_l: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # free-form scorer notes (prompt, timings, ...)

    def __post_init__(self) -> None:
        self.validate()

    def _fail(self, what: str) -> ClearBenchError:
        return ClearBenchError(f"per-item record {self.item_id!r} of task {self.task!r}: {what}")

    def validate(self) -> None:
        """Check the record is internally consistent; raise a one-line ClearBenchError if not."""
        if self.answer_tokens <= 0:
            raise self._fail(f"answer_tokens must be > 0 (got {self.answer_tokens})")
        if (self.paraphrase_nll is None) != (self.paraphrase_tokens is None):
            raise self._fail("paraphrase_nll and paraphrase_tokens must both be set or both be None")
        if self.paraphrase_tokens is not None and self.paraphrase_tokens <= 0:
            raise self._fail(f"paraphrase_tokens must be > 0 (got {self.paraphrase_tokens})")
        if len(self.perturbed_nll) != len(self.perturbed_tokens):
            raise self._fail(f"{len(self.perturbed_nll)} perturbed_nll values but "
                             f"{len(self.perturbed_tokens)} perturbed_tokens counts")
        if any(n <= 0 for n in self.perturbed_tokens):
            raise self._fail("every perturbed_tokens count must be > 0")
        for name in ("token_logprobs", "token_mu", "token_sigma"):
            values = getattr(self, name)
            if values is not None and len(values) != self.answer_tokens:
                raise self._fail(f"{name} has {len(values)} values, expected answer_tokens={self.answer_tokens}")
        if self.rouge_l is not None and not 0.0 <= self.rouge_l <= 1.0:
            raise self._fail(f"rouge_l must be in [0, 1] (got {self.rouge_l})")

    # Per-token means: the quantities every metric is built on.
    @property
    def answer_mean_nll(self) -> float:
        return self.answer_nll / self.answer_tokens

    @property
    def paraphrase_mean_nll(self) -> float:
        """Per-token NLL of the paraphrase; the answer's when the task has no separate paraphrase."""
        if self.paraphrase_nll is None:
            return self.answer_mean_nll
        return self.paraphrase_nll / self.paraphrase_tokens

    @property
    def perturbed_mean_nll(self) -> list[float]:
        return [nll / n for nll, n in zip(self.perturbed_nll, self.perturbed_tokens)]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (an infinite NLL stays a float: Python's json writes and reads `Infinity`)."""
        return asdict(self)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> "ItemRecord":
        """Inverse of `to_json`; unknown keys are kept in `extra` (newer scorers may add fields)."""
        known = {f.name for f in fields(cls)}
        missing = [k for k in ("item_id", "task", "answer", "answer_nll", "answer_tokens") if k not in obj]
        if missing:
            raise ClearBenchError(f"per-item record {obj.get('item_id', '?')!r} lacks field(s) {', '.join(missing)}")
        kwargs = {k: v for k, v in obj.items() if k in known}
        extra = dict(kwargs.pop("extra", None) or {})
        extra.update({k: v for k, v in obj.items() if k not in known})
        return cls(**kwargs, extra=extra)
