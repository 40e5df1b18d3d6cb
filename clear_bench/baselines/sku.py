"""SKU: learn the forget knowledge into a task vector, then subtract it (both stages)."""
from dataclasses import dataclass

import torch

from ..config import setting
from .base import UnlearningMethod, model_logits
from .losses import cross_entropy, kl_ref_to_model
from .registry import register


@dataclass
class SKUConfig:
    """SKU hyper-parameters (Liu et al. 2024, 'Towards safer LLMs through machine unlearning', §3).

    The stage-1 weights are the CLEAR reference's (`mm/trainer.py`, loss `sku`: bad 2.5, random 1.0, normal 0.5).

    Attributes:
        forget_weight: weight of the guided-distortion term in stage 1 (CE on the forget answers).
        mismatch_weight: weight of the random-disassociation term in stage 1: the forget question with another
            forget person's answer (never a retain answer: stage 2 negates what stage 1 learnt).
        retain_kl_weight: weight of the preservation-divergence term (− KL on retain) in stage 1.
        negation_scale: λ of stage 2: θ = θ0 − λ (θ1 − θ0).
    """

    forget_weight: float = setting(2.5, ge=0)
    mismatch_weight: float = setting(1.0, ge=0)
    retain_kl_weight: float = setting(0.5, ge=0)
    negation_scale: float = setting(1.0, gt=0)


@register
class SKU(UnlearningMethod):
    name = "sku"
    Config = SKUConfig
    streams = ("forget", "forget_mismatch", "retain")
    needs_reference = True
    paper = ("Liu et al. 2024 (SKU): stage 1 Eq. 1-3 (guided distortion, random disassociation, preservation "
             "divergence), stage 2 Eq. 4 (negation)")
    # Stage 1 re-learns answers the demo's target already knows (forget CE ≈ 0.01: tiny gradients), so at the
    # demo's lr 1e-3 the task vector it negates is small (forget answers' probability 0.99 -> 0.93); lr 3e-3
    # makes it visible (tests/test_method_effects.py).
    demo_overrides = {"train": {"lr": 3e-3}}

    def setup(self, model, ctx):
        base = ctx.unwrap(model)
        self.lora = hasattr(base, "disable_adapter")
        self.theta0 = None if self.lora else {n: p.detach().clone() for n, p in base.named_parameters()
                                               if p.requires_grad}

    def loss(self, model, batch, ctx):
        f, m, r = batch["forget"], batch["forget_mismatch"], batch["retain"]
        c = self.config
        return (c.forget_weight * cross_entropy(model_logits(model, f), f["labels"])
                + c.mismatch_weight * cross_entropy(model_logits(model, m), m["labels"])
                - c.retain_kl_weight * kl_ref_to_model(model_logits(model, r), ctx.reference_logits(model, r),
                                                       r["labels"]))

    @torch.no_grad()
    def finish(self, model, ctx):
        base = ctx.unwrap(model)
        lam = self.config.negation_scale
        for name, p in base.named_parameters():
            if self.lora:
                # ΔW = B·A·s (B starts at 0): negating B gives W0 − λ ΔW exactly
                if "lora_B" in name:
                    p.mul_(-lam)
            elif name in self.theta0:
                p.copy_(self.theta0[name] - lam * (p - self.theta0[name]))
        return model
