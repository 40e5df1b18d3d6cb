"""IDK fine-tuning: answer forget questions with a refusal, keep the retain data."""
from .base import UnlearningMethod, model_logits
from .losses import cross_entropy
from .registry import register


@register
class IDK(UnlearningMethod):
    name = "idk"
    streams = ("idk", "retain")
    paper = "TOFU (Maini et al. 2024) §4 'I don't know': L = CE(refusals for forget questions) + α CE(retain)"
    # The authors' recipe is for full-size models: TOFU's locuslab/tofu config/forget.yaml runs every forget loss,
    # idk included, on every weight (LoRA r 0) at lr 1e-5 for 5 epochs. On the demo's tiny model the shared recipe
    # (LoRA, 10 epochs) leaves a refusal far less likely than the true answer: refusals are new text to it (its
    # tokenizer spells them letter by letter), and LoRA on it raises the likelihood of new text only slowly. So
    # every weight trains, as in TOFU. At the demo's lr 1e-3 for 50 epochs the refusal spreads from the forget
    # images to the real faces (LLaVA, the 10 forget items: Real metric 0.99 -> 0.26, the shipped record's 0.27;
    # a retain weight of 3 kept 0.57); at 5e-4 for 75 epochs the refusal wins on every forget item on both tiny
    # models and the Real metric keeps 0.75 / 0.97 of 0.99 / 0.98 (LLaVA / Qwen2-VL; 5e-4 for 50 epochs left
    # Qwen2-VL's smallest margin at +0.03 nats a token; tests/test_method_effects.py).
    demo_overrides = {"unlearn": {"lora_r": 0}, "train": {"epochs": 75, "lr": 5e-4}}

    def loss(self, model, batch, ctx):
        i, r = batch["idk"], batch["retain"]
        return (cross_entropy(model_logits(model, i), i["labels"])
                + self.config.retain_weight * cross_entropy(model_logits(model, r), r["labels"]))
