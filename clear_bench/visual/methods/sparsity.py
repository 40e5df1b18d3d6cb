"""Sparsity: retain fine-tuning with an L1 penalty on the backbone's weights (`cv/unlearning/sparsity.py`)."""
from dataclasses import dataclass

import torch

from ..train import batches
from .base import VisualMethod, am_loss, register, run_sgd


@dataclass
class SparsityConfig:
    """Attributes:
        alpha: weight of the L1 norm of every backbone parameter (reference: 1e-4).
        epochs: passes over the retain images (4).
        lr: SGD learning rate (0.01).
        batch_size: images per step (32).
        weight_decay: (5e-5).
        train_mode: batch-norm in training mode (net.train()).
    """

    alpha: float = 1e-4
    epochs: int = 4
    lr: float = 0.01
    batch_size: int = 32
    weight_decay: float = 5e-5
    train_mode: bool = True


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
