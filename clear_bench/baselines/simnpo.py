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
        forget_weight: weight of the SimNPO forget term (`npo_coeff` 0.1375 in the authors' TOFU forget05 config,
            OPTML-Group/Unlearn-Simple TOFU/config/forget.yaml; `loss = npo_coeff * forget + grad_diff_coeff *
            retain` in TOFU/dataloader.py).
        retain_weight: α, weight of the retain cross-entropy (`grad_diff_coeff` 1.0 there).
    """

    beta: float = setting(2.5, gt=0)
    gamma: float = setting(0.0, ge=0)
    forget_weight: float = setting(0.1375, ge=0)
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
        return (self.config.forget_weight
                * simnpo_loss(s, answer_lengths(f["labels"]), self.config.beta, self.config.gamma)
                + self.config.retain_weight * cross_entropy(model_logits(model, r), r["labels"]))
