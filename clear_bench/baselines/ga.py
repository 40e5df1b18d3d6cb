"""Gradient ascent: maximise the loss on the forget data."""
from dataclasses import dataclass

from .base import UnlearningMethod, model_logits
from .losses import cross_entropy
from .registry import register


@dataclass
class GAConfig:
    """Gradient ascent has no hyper-parameters beyond the optimiser's."""


@register
class GradientAscent(UnlearningMethod):
    name = "ga"
    Config = GAConfig
    streams = ("forget",)
    paper = "Jang et al. 2023 / TOFU: L = -CE(forget)"

    def loss(self, model, batch, ctx):
        f = batch["forget"]
        return -cross_entropy(model_logits(model, f), f["labels"])
