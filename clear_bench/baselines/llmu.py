"""LLMU: gradient ascent on forget + learning mismatched answers + staying close on retain."""
from dataclasses import dataclass

from ..config import setting
from .base import UnlearningMethod, model_logits
from .losses import cross_entropy, kl_ref_to_model
from .registry import register


@dataclass
class LLMUConfig:
    """LLMU weights (Yao et al. 2023, Eq. 5).

    Attributes:
        eps_forget: ε1, weight of the forget ascent term.
        eps_mismatch: ε2, weight of the mismatched-answer (random completion) term.
        eps_retain: ε3, weight of the retain KL term.
    """

    eps_forget: float = setting(0.5, ge=0)
    eps_mismatch: float = setting(1.0, ge=0)
    eps_retain: float = setting(1.0, ge=0)


@register
class LLMU(UnlearningMethod):
    name = "llmu"
    Config = LLMUConfig
    streams = ("forget", "mismatch", "retain")
    needs_reference = True
    paper = "Yao et al. 2023, 'Large Language Model Unlearning', Eq. 5"

    def loss(self, model, batch, ctx):
        f, m, r = batch["forget"], batch["mismatch"], batch["retain"]
        c = self.config
        return (-c.eps_forget * cross_entropy(model_logits(model, f), f["labels"])
                + c.eps_mismatch * cross_entropy(model_logits(model, m), m["labels"])
                + c.eps_retain * kl_ref_to_model(model_logits(model, r), ctx.reference_logits(model, r), r["labels"]))
