"""DPO with the refusal as the preferred answer and the forget answer as the rejected one."""
from dataclasses import dataclass

from .base import UnlearningMethod, model_logits
from .losses import cross_entropy, dpo_loss, sequence_logprob
from .registry import register


@dataclass
class DPOConfig:
    """DPO hyper-parameters.

    Attributes:
        beta: β, inverse temperature of the preference loss (SPEC §4: 0.1).
        retain_weight: α, weight of the retain cross-entropy (SPEC §4: 1).
    """

    beta: float = 0.1
    retain_weight: float = 1.0


@register
class DPO(UnlearningMethod):
    name = "dpo"
    Config = DPOConfig
    streams = ("forget", "idk", "retain")
    needs_reference = True
    paper = "Rafailov et al. 2023, Eq. 7; TOFU's unlearning use (refusal preferred over the forget answer)"

    def loss(self, model, batch, ctx):
        f, i, r = batch["forget"], batch["idk"], batch["retain"]
        ids = batch["ids"]
        pref = dpo_loss(sequence_logprob(model_logits(model, i), i["labels"]),
                        ctx.reference_seq_logprob(model, i, ids["idk"], "idk"),
                        sequence_logprob(model_logits(model, f), f["labels"]),
                        ctx.reference_seq_logprob(model, f, ids["forget"], "forget"), self.config.beta)
        return pref + self.config.retain_weight * cross_entropy(model_logits(model, r), r["labels"])
