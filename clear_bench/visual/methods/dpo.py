"""DPO over identities: the retain image's true identity is "chosen", the forget image's "rejected", with
r = β·log(p/p_ref)[true identity] and L = −(1/β)·mean log σ(r_retain − r_forget) (`cv/unlearning/dpo.py`).
p is the softmax of the AM head's scaled cosines (the reference: a plain linear layer with the AM weights)."""
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .base import VisualMethod, id_log_probs, register, run_sgd, zipped


@dataclass
class DPOConfig:
    """Attributes:
        scale: identity distribution softmax(scale·cos) over the AM head's classes (ours: 3; the head's own
            s = 30 saturates p(true identity) to 1 in float32 on a memorised image, where this loss has no
            gradient; the reference reads a plain linear layer instead).
        beta: β (reference: 1).
        balance: times each forget image is repeated per epoch (10).
        epochs: passes (4).
        lr: SGD learning rate (0.01).
        batch_size: images per step, each stream (256).
        weight_decay: (5e-5).
        schedule: "cosine" (the reference's).
        train_mode: batch-norm in training mode (the reference runs in net.eval()).
    """

    beta: float = 1.0
    scale: float = 3.0
    balance: int = 10
    epochs: int = 4
    lr: float = 0.01
    batch_size: int = 256
    weight_decay: float = 5e-5
    schedule: str = "cosine"
    train_mode: bool = False


@register("dpo")
class DPO(VisualMethod):
    Config = DPOConfig

    def unlearn(self, task) -> dict:
        c, gen, model = self.config, task.generator(), task.model
        ref = task.frozen_copy()

        def reward(idx):
            x, y = task.x(idx), task.y(idx)
            with torch.no_grad():
                ref_lp = id_log_probs(ref, x, c.scale).gather(1, y[:, None])
            return c.beta * (id_log_probs(model, x, c.scale).gather(1, y[:, None]) - ref_lp)

        def loss(pair):
            r, f = pair
            n = min(len(r), len(f))
            return -(1 / c.beta) * F.logsigmoid(reward(r[:n]) - reward(f[:n])).mean()

        return run_sgd(task, model.parameters(), c,
                       lambda e: zipped(task.retain_idx, task.forget_idx, c.batch_size, gen, c.balance), loss)
