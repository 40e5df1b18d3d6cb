"""NegGrad+ (GD): per epoch, a gradient-ascent pass over the forget images, then a descent pass over the
retain images, both on the AM-Softmax loss (`cv/unlearning/neggrad.py`)."""
from dataclasses import dataclass


from ..train import batches
from .base import SGDConfig, VisualMethod, am_loss, register, run_sgd, sgd_default


@dataclass
class GDConfig(SGDConfig):
    """Attributes:
        epochs: forget-then-retain rounds (`cv/unlearning/neggrad.py` --n_epochs 2).
        lr: SGD learning rate (neggrad --lr 0.1).
        batch_size: images per step, both passes (neggrad --forget_bs / --retain_bs 256).
        train_mode: batch-norm in training mode (False: neggrad runs in net.eval()).
    """

    epochs: int = sgd_default("epochs", 2)
    lr: float = sgd_default("lr", 0.1)
    train_mode: bool = False


@register("gd")
class GD(VisualMethod):
    Config = GDConfig

    def unlearn(self, task) -> dict:
        c, gen = self.config, task.generator()

        def steps(epoch):  # (sign, batch): -1 ascends on forget, +1 descends on retain
            return ([(-1.0, b) for b in batches(task.forget_idx, c.batch_size, gen)]
                    + [(1.0, b) for b in batches(task.retain_idx, c.batch_size, gen)])

        return run_sgd(task, task.model.parameters(), c, steps, lambda sb: sb[0] * am_loss(task, task.model, sb[1]))
