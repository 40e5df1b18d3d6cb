"""KL minimisation: ascend on forget, keep the retain distribution close to the reference."""
from .base import UnlearningMethod, model_logits
from .losses import cross_entropy, kl_ref_to_model
from .registry import register


@register
class KLMin(UnlearningMethod):
    name = "kl"
    streams = ("forget", "retain")
    needs_reference = True
    paper = "TOFU (Maini et al. 2024) §4: L = -CE(forget) + α KL(ref||θ) on retain"

    def loss(self, model, batch, ctx):
        f, r = batch["forget"], batch["retain"]
        kl = kl_ref_to_model(model_logits(model, r), ctx.reference_logits(model, r), r["labels"])
        return -cross_entropy(model_logits(model, f), f["labels"]) + self.config.retain_weight * kl
