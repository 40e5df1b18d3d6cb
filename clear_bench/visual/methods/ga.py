"""NegGrad (GA): gradient ascent on the forget images' AM-Softmax loss, the forget passes of the reference's
`cv/unlearning/neggrad.py` alone."""
from dataclasses import dataclass

from ..train import batches
from .base import SGDConfig, VisualMethod, am_loss, register, run_sgd, sgd_default


@dataclass
class GAConfig(SGDConfig):
    """Attributes:
        epochs: ascent passes over the forget images (`cv/unlearning/neggrad.py` --n_epochs 2).
        lr: SGD learning rate (neggrad --lr 0.1).
        batch_size: images per step (neggrad --forget_bs 256).
        train_mode: batch-norm in training mode (False: neggrad runs in net.eval()).
    """

    epochs: int = sgd_default("epochs", 2)
    lr: float = sgd_default("lr", 0.1)
    train_mode: bool = False


@register("ga")
class GA(VisualMethod):
    Config = GAConfig

    def unlearn(self, task) -> dict:
        c, gen = self.config, task.generator()
        return run_sgd(task, task.model.parameters(), c, lambda e: batches(task.forget_idx, c.batch_size, gen),
                       lambda b: -am_loss(task, task.model, b))
