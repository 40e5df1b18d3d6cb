"""Sparsity: retain fine-tuning with an L1 penalty on the backbone's weights (`cv/unlearning/sparsity.py`).

It forgets only by drifting away from what it no longer trains on: on the demo (24 forget images, a tiny ResNet)
its forget accuracy levels off about 0.05 below Original's wherever holdout and retain accuracy hold, and larger
steps lower all three together (docs/visual_track.md)."""
from dataclasses import dataclass

import torch

from ...config import setting
from ..train import batches
from .base import SGDConfig, VisualMethod, am_loss, register, run_sgd, sgd_default


@dataclass
class SparsityConfig(SGDConfig):
    """Attributes:
        alpha: weight of the L1 norm of every backbone parameter (`cv/unlearning/sparsity.py`: 1e-4).
        epochs: passes over the retain images (sparsity.py --n_epochs 4).
        lr: SGD learning rate (sparsity.py --lr 0.01).
        batch_size: images per step (sparsity.py --bs 32).
    """

    alpha: float = setting(1e-4, ge=0)
    epochs: int = sgd_default("epochs", 4)
    batch_size: int = sgd_default("batch_size", 32)


def l1_norm(module) -> torch.Tensor:
    return sum(p.abs().sum() for p in module.parameters())


@register("sparsity")
class Sparsity(VisualMethod):
    Config = SparsityConfig

    def unlearn(self, task) -> dict:
        c, gen, model = self.config, task.generator(), task.model
        out = run_sgd(task, model.parameters(), c, lambda e: batches(task.retain_idx, c.batch_size, gen),
                      lambda b: am_loss(task, model, b) + c.alpha * l1_norm(model.backbone))
        with torch.no_grad():
            return {**out, "l1_after": l1_norm(model.backbone).item()}
