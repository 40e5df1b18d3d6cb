"""Retain FT: keep fine-tuning on the retain identities with AM-Softmax (`cv/unlearning/finetune.py`)."""
from dataclasses import dataclass

from ..train import batches
from .base import SGDConfig, VisualMethod, am_loss, register, run_sgd


@dataclass
class RetainFTConfig(SGDConfig):
    """Attributes:
        epochs: passes over the retain images (`cv/unlearning/finetune.py` --n_epochs 5).
        lr: SGD learning rate (finetune.py --lr 0.01).
    """


@register("retain_ft")
class RetainFT(VisualMethod):
    Config = RetainFTConfig

    def unlearn(self, task) -> dict:
        c, gen = self.config, task.generator()
        return run_sgd(task, task.model.parameters(), c, lambda e: batches(task.retain_idx, c.batch_size, gen),
                       lambda b: am_loss(task, task.model, b))
