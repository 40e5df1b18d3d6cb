"""Gradient difference: ascend on forget, descend on retain."""
from .base import UnlearningMethod, model_logits
from .losses import cross_entropy
from .registry import register


@register
class GradientDifference(UnlearningMethod):
    name = "gd"
    streams = ("forget", "retain")
    paper = "Liu et al. 2022 / TOFU: L = -CE(forget) + α CE(retain)"

    def loss(self, model, batch, ctx):
        f, r = batch["forget"], batch["retain"]
        return (-cross_entropy(model_logits(model, f), f["labels"])
                + self.config.retain_weight * cross_entropy(model_logits(model, r), r["labels"]))
