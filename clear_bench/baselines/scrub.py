"""SCRUB: alternate max-steps (move away from the teacher on forget) and min-steps (stay close on retain)."""
from dataclasses import dataclass

from .base import UnlearningMethod, model_logits
from .losses import cross_entropy, kl_ref_to_model
from .registry import register


@dataclass
class SCRUBConfig:
    """SCRUB hyper-parameters (Kurmanji et al. 2023, Eq. 3-4).

    Attributes:
        max_epochs: epochs during which max-steps alternate with min-steps; later epochs do min-steps only.
        alpha: α, weight of the retain KL in the min-step.
        gamma: γ, weight of the retain cross-entropy in the min-step.
    """

    max_epochs: int = 2
    alpha: float = 1.0
    gamma: float = 1.0


@register
class SCRUB(UnlearningMethod):
    name = "scrub"
    Config = SCRUBConfig
    streams = ("forget", "retain")
    needs_reference = True
    paper = "Kurmanji et al. 2023, 'Towards unbounded machine unlearning', Eq. 3 (max) and Eq. 4 (min)"

    def is_max_step(self, ctx) -> bool:
        return ctx.epoch < self.config.max_epochs and ctx.step % 2 == 0

    def loss(self, model, batch, ctx):
        if self.is_max_step(ctx):
            f = batch["forget"]
            return -kl_ref_to_model(model_logits(model, f), ctx.reference_logits(model, f), f["labels"])
        r = batch["retain"]
        logits = model_logits(model, r)
        return (self.config.alpha * kl_ref_to_model(logits, ctx.reference_logits(model, r), r["labels"])
                + self.config.gamma * cross_entropy(logits, r["labels"]))
