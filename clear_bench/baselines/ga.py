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
    # No `demo_overrides` on purpose: on the demo GA runs the shared recipe (LoRA r 8, lr 1e-3, 10 epochs), as GD,
    # KL and NPO do, so their rows compare like with like (TOFU's locuslab/tofu config/forget.yaml likewise runs
    # grad_ascent with the one recipe of every forget loss). Unbounded ascent with no retain term collapses the
    # model there (every headline metric 0.00 in the shipped demo record), the failure the CLEAR paper's Table 1
    # reports for GA; tests/test_method_effects.py checks it does lower the forget answers' probability.

    def loss(self, model, batch, ctx):
        f = batch["forget"]
        return -cross_entropy(model_logits(model, f), f["labels"])
