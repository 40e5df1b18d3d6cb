"""Retain fine-tuning: keep training on the retain data only (the "do nothing clever" baseline)."""
from .base import UnlearningMethod, model_logits
from .losses import cross_entropy
from .registry import register


@register
class RetainFT(UnlearningMethod):
    name = "retain_ft"
    streams = ("retain",)
    paper = "TOFU (Maini et al. 2024), fine-tune on retain"

    def loss(self, model, batch, ctx):
        r = batch["retain"]
        return cross_entropy(model_logits(model, r), r["labels"])
