"""IDK fine-tuning: answer forget questions with a refusal, keep the retain data."""
from .base import UnlearningMethod, model_logits
from .losses import cross_entropy
from .registry import register


@register
class IDK(UnlearningMethod):
    name = "idk"
    streams = ("idk", "retain")
    paper = "TOFU (Maini et al. 2024) §4 'I don't know': L = CE(refusals for forget questions) + α CE(retain)"
    # The demo's shared recipe (LoRA, 10 epochs) leaves a refusal far less likely than the true answer: refusals are
    # new text to the tiny model (its tokenizer spells them letter by letter), and LoRA on it raises the likelihood
    # of new text only slowly (the reason the demo fine-tunes all weights). With every weight and 50 epochs the
    # refusal overtakes the answer on every forget question (tests/test_method_effects.py).
    demo_overrides = {"unlearn": {"lora_r": 0}, "train": {"epochs": 50}}

    def loss(self, model, batch, ctx):
        i, r = batch["idk"], batch["retain"]
        return (cross_entropy(model_logits(model, i), i["labels"])
                + self.config.retain_weight * cross_entropy(model_logits(model, r), r["labels"]))
