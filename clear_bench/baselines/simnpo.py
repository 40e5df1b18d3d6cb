"""SimNPO: length-normalised NPO with a margin and no reference model."""
from dataclasses import dataclass

from ..config import setting
from .base import UnlearningMethod, model_logits
from .losses import answer_lengths, cross_entropy, sequence_logprob, simnpo_loss
from .registry import register


@dataclass
class SimNPOConfig:
    """SimNPO hyper-parameters.

    Attributes:
        beta: β, inverse temperature (Fan et al. use 2.5 on TOFU).
        gamma: γ, reward margin (0 on TOFU in the paper).
        retain_weight: α, weight of the retain cross-entropy.
    """

    beta: float = setting(2.5, gt=0)
    gamma: float = setting(0.0, ge=0)
    retain_weight: float = setting(1.0, ge=0)


@register
class SimNPO(UnlearningMethod):
    name = "simnpo"
    Config = SimNPOConfig
    streams = ("forget", "retain")
    paper = "Fan et al. 2024, 'Simplicity prevails', Eq. 5"

    def loss(self, model, batch, ctx):
        f, r = batch["forget"], batch["retain"]
        s = sequence_logprob(model_logits(model, f), f["labels"])
        return (simnpo_loss(s, answer_lengths(f["labels"]), self.config.beta, self.config.gamma)
                + self.config.retain_weight * cross_entropy(model_logits(model, r), r["labels"]))
