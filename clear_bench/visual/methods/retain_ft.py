"""Retain FT: keep fine-tuning on the retain identities with AM-Softmax (`cv/unlearning/finetune.py`)."""
from dataclasses import dataclass

from ..train import batches
from .base import VisualMethod, am_loss, register, run_sgd


@dataclass
class RetainFTConfig:
    """Attributes:
        epochs: passes over the retain images (reference: 5).
        lr: SGD learning rate (0.01).
        batch_size: images per step (256).
        weight_decay: (5e-5).
        train_mode: batch-norm in training mode (the reference's net.train()).
    """

    epochs: int = 5
    lr: float = 0.01
    batch_size: int = 256
    weight_decay: float = 5e-5
    train_mode: bool = True


@register("retain_ft")
class RetainFT(VisualMethod):
    Config = RetainFTConfig

    def unlearn(self, task) -> dict:
        c, gen = self.config, task.generator()
        return run_sgd(task, task.model.parameters(), c, lambda e: batches(task.retain_idx, c.batch_size, gen),
                       lambda b: am_loss(task, task.model, b))
