"""RMU: forget images' embeddings towards a fixed random vector C·u (u ~ U(−1, 1)^D, one per image), retain
images' embeddings kept at the original model's (`cv/unlearning/rmu.py`)."""
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ...config import setting
from ..train import batches
from .base import SGDConfig, VisualMethod, register, run_sgd, sgd_default


@dataclass
class RMUConfig(SGDConfig):
    """Attributes:
        c: scale of the random target vectors (`cv/unlearning/rmu.py`: 2).
        balance: times each forget image is repeated per epoch, mixed with the retain images (rmu.py: 10).
        epochs: passes (rmu.py --n_epochs 3).
        lr: SGD learning rate (rmu.py --lr 0.2).
    """

    c: float = setting(2.0, gt=0)
    balance: int = setting(10, ge=1)
    epochs: int = sgd_default("epochs", 3)
    lr: float = sgd_default("lr", 0.2)


@register("rmu")
class RMU(VisualMethod):
    Config = RMUConfig

    def unlearn(self, task) -> dict:
        c, gen, model = self.config, task.generator(), task.model
        n, d = len(task.faces.labels), model.head.in_features
        target = torch.zeros(n, d, device=task.device)
        target[task.retain_idx.to(task.device)] = task.embed(model, task.retain_idx)
        rand = (torch.rand(len(task.forget_idx), d, generator=gen) * 2 - 1) * c.c
        target[task.forget_idx.to(task.device)] = rand.to(task.device)
        pool = torch.cat([task.forget_idx.repeat(c.balance), task.retain_idx])

        def loss(b):
            return F.mse_loss(model(task.x(b)), target[b.to(task.device)])

        return run_sgd(task, model.backbone.parameters(), c, lambda e: batches(pool, c.batch_size, gen), loss)
