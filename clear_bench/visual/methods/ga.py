"""NegGrad (GA): gradient ascent on the forget images' AM-Softmax loss, the forget passes of the reference's
`cv/unlearning/neggrad.py` alone."""
from dataclasses import dataclass

from ..train import batches
from .base import VisualMethod, am_loss, register, run_sgd


@dataclass
class GAConfig:
    """Attributes:
        epochs: ascent passes over the forget images (reference neggrad: 2).
        lr: SGD learning rate (0.1).
        batch_size: images per step (256).
        weight_decay: (5e-5).
        train_mode: batch-norm in training mode (the reference runs neggrad in net.eval()).
    """

    epochs: int = 2
    lr: float = 0.1
    batch_size: int = 256
    weight_decay: float = 5e-5
    train_mode: bool = False


@register("ga")
class GA(VisualMethod):
    Config = GAConfig

    def unlearn(self, task) -> dict:
        c, gen = self.config, task.generator()
        return run_sgd(task, task.model.parameters(), c, lambda e: batches(task.forget_idx, c.batch_size, gen),
                       lambda b: -am_loss(task, task.model, b))
