"""DPO over identities: the retain image's true identity is "chosen", the forget image's "rejected", with
r = β·log(p/p_ref)[true identity] and L = −(1/β)·mean log σ(r_retain − r_forget) (`cv/unlearning/dpo.py`).
p is the softmax of the AM head's scaled cosines (the reference: a plain linear layer with the AM weights)."""
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ...config import setting
from .base import SGDConfig, VisualMethod, id_log_probs, register, run_sgd, sgd_default, zipped


@dataclass
class DPOConfig(SGDConfig):
    """Attributes:
        beta: β (`cv/unlearning/dpo.py` --betta 1).
        scale: identity distribution softmax(scale·cos) over the AM head's classes (ours: 3; the head's own
            s = 30 saturates p(true identity) to 1 in float32 on a memorised image, where this loss has no
            gradient; the reference reads a plain linear layer instead).
        balance: times each forget image is repeated per epoch (dpo.py --balance 10).
        epochs: passes (dpo.py --n_epochs 4).
        lr: SGD learning rate (dpo.py --lr 0.01).
        schedule: learning-rate schedule (dpo.py: CosineAnnealingLR(T_max=n_epochs)).
        train_mode: batch-norm in training mode (False: dpo.py runs in net.eval()).
    """

    beta: float = setting(1.0, gt=0)
    scale: float = setting(3.0, gt=0)
    balance: int = setting(10, ge=1)
    epochs: int = sgd_default("epochs", 4)
    schedule: str = sgd_default("schedule", "cosine")
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
