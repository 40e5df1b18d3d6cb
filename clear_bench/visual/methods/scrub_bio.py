"""SCRUB_bio: cosine-embedding loss against the original model's embeddings, pushing forget images away
(target −1: loss max(0, cos)) and keeping retain images in place (target +1: 1 − cos)
(`cv/unlearning/scrub.py`)."""
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ...config import setting
from ..train import batches
from .base import SGDConfig, VisualMethod, register, run_sgd, sgd_default


@dataclass
class ScrubBioConfig(SGDConfig):
    """Attributes:
        balance: times each forget image is repeated per epoch, mixed with the retain images
            (`cv/unlearning/scrub.py`: 5).
        epochs: passes (scrub.py --n_epochs 4).
        lr: SGD learning rate (scrub.py --lr 0.2).
    """

    balance: int = setting(5, ge=1)
    epochs: int = sgd_default("epochs", 4)
    lr: float = sgd_default("lr", 0.2)


@register("scrub_bio")
class ScrubBio(VisualMethod):
    Config = ScrubBioConfig

    def unlearn(self, task) -> dict:
        c, gen, model = self.config, task.generator(), task.model
        n = len(task.faces.labels)
        target = torch.zeros(n, dtype=torch.float32, device=task.device)  # +1 retain, -1 forget
        target[task.retain_idx.to(task.device)] = 1.0
        target[task.forget_idx.to(task.device)] = -1.0
        both = torch.cat([task.forget_idx, task.retain_idx])
        vectors = torch.zeros(n, model.head.in_features, device=task.device)
        vectors[both.to(task.device)] = task.embed(model, both)
        pool = torch.cat([task.forget_idx.repeat(c.balance), task.retain_idx])

        def loss(b):
            bd = b.to(task.device)
            return F.cosine_embedding_loss(model(task.x(b)), vectors[bd], target[bd])

        return run_sgd(task, model.backbone.parameters(), c, lambda e: batches(pool, c.batch_size, gen), loss)
