"""Negative preference optimisation on whole-sequence likelihoods (not per-vocabulary ratios)."""
from dataclasses import dataclass

from ..config import setting
from .base import UnlearningMethod, model_logits
from .losses import cross_entropy, npo_loss, sequence_logprob
from .registry import register


@dataclass
class NPOConfig:
    """NPO hyper-parameters.

    Attributes:
        beta: β of NPO (the CLEAR reference's default, 0.1).
        retain_weight: α, weight of the retain cross-entropy (the reference's default, 1).
    """

    beta: float = setting(0.1, gt=0)
    retain_weight: float = setting(1.0, ge=0)


@register
class NPO(UnlearningMethod):
    name = "npo"
    Config = NPOConfig
    streams = ("forget", "retain")
    needs_reference = True
    paper = "Zhang et al. 2024, Eq. 3 (+ retain CE: NPO-RT)"

    def loss(self, model, batch, ctx):
        f, r = batch["forget"], batch["retain"]
        s = sequence_logprob(model_logits(model, f), f["labels"])
        s_ref = ctx.reference_seq_logprob(model, f, batch["ids"]["forget"], "forget")
        return (npo_loss(s, s_ref, self.config.beta)
                + self.config.retain_weight * cross_entropy(model_logits(model, r), r["labels"]))
