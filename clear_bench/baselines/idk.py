"""IDK fine-tuning: answer forget questions with a refusal, keep the retain data."""
from .base import UnlearningMethod, model_logits
from .losses import cross_entropy
from .registry import register


@register
class IDK(UnlearningMethod):
    name = "idk"
    streams = ("idk", "retain")
    paper = "TOFU (Maini et al. 2024) §4 'I don't know': L = CE(refusals for forget questions) + α CE(retain)"

    def loss(self, model, batch, ctx):
        i, r = batch["idk"], batch["retain"]
        return (cross_entropy(model_logits(model, i), i["labels"])
                + self.config.retain_weight * cross_entropy(model_logits(model, r), r["labels"]))
