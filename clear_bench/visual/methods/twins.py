"""Twins: make each forget image's embedding match what the original model gives its horizontally flipped
twin (an image of the same face it has not memorised) (`cv/unlearning/twins.py`).

On the demo's drawn portraits, nearly mirror-symmetric, the flipped twin is almost the image itself, so the target
is almost the original embedding and forget accuracy stays at Original's (lr 1.0: .955; docs/visual_track.md)."""
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ...config import setting
from ..train import batches
from .base import SGDConfig, VisualMethod, register, run_sgd, sgd_default


@dataclass
class TwinsConfig(SGDConfig):
    """Attributes:
        balance: times each forget image is repeated per epoch (`cv/unlearning/twins.py`: 10).
        epochs: passes (twins.py --n_epochs 5).
        lr: SGD learning rate (twins.py --lr 0.4).
        batch_size: images per step (twins.py --bs 128).
    """

    balance: int = setting(10, ge=1)
    lr: float = sgd_default("lr", 0.4)
    batch_size: int = sgd_default("batch_size", 128)


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
