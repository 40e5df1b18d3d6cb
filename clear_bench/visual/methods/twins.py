"""Twins: make each forget image's embedding match what the original model gives its horizontally flipped
twin (an image of the same face it has not memorised) (`cv/unlearning/twins.py`)."""
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..train import batches
from .base import VisualMethod, register, run_sgd


@dataclass
class TwinsConfig:
    """Attributes:
        balance: times each forget image is repeated per epoch (reference: 10).
        epochs: passes (5).
        lr: SGD learning rate (0.4).
        batch_size: images per step (128).
        weight_decay: (5e-5).
        train_mode: batch-norm in training mode (net.train()).
    """

    balance: int = 10
    epochs: int = 5
    lr: float = 0.4
    batch_size: int = 128
    weight_decay: float = 5e-5
    train_mode: bool = True


@register("twins")
class Twins(VisualMethod):
    Config = TwinsConfig

    def unlearn(self, task) -> dict:
        c, gen, model = self.config, task.generator(), task.model
        n = len(task.faces.labels)
        target = torch.zeros(n, model.head.in_features, device=task.device)
        target[task.forget_idx.to(task.device)] = task.embed(model, task.forget_idx, flip=True)

        def loss(b):
            return F.mse_loss(model(task.x(b)), target[b.to(task.device)])

        return run_sgd(task, model.backbone.parameters(), c,
                       lambda e: batches(task.forget_idx, c.batch_size, gen, repeat=c.balance), loss)
