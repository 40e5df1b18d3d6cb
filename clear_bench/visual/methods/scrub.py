"""SCRUB (the original, Kurmanji et al. 2023, as the reference runs it in one combined step):
−KL(forget) + KL(retain) + AM-Softmax(retain) against the frozen original (`cv/unlearning/scrub_orig.py`).

The distributions are over identities (softmax of the AM head's scaled cosines); the reference takes a
softmax over the 512 embedding dimensions instead, which is no distribution over anything."""
from dataclasses import dataclass

from ...config import setting
from .base import SGDConfig, VisualMethod, am_loss, id_log_probs, kl_to, register, run_sgd, sgd_default, zipped


@dataclass
class ScrubConfig(SGDConfig):
    """Attributes:
        balance: times each forget image is repeated per epoch (`cv/unlearning/scrub_orig.py` --balance 10).
        scale: identity distribution softmax(scale·cos) over the AM head's classes (ours: 3; the head's own
            s = 30 saturates p(true identity) to 1 in float32 on a memorised image, where this loss has no
            gradient; the reference reads a plain linear layer instead).
        epochs: passes (scrub_orig.py --n_epochs 5).
        lr: SGD learning rate (scrub_orig.py --lr 0.01).
        schedule: learning-rate schedule (scrub_orig.py: CosineAnnealingLR(T_max=n_epochs)).
        train_mode: batch-norm in training mode (False: scrub_orig.py runs in net.eval()).
    """

    balance: int = setting(10, ge=1)
    scale: float = setting(3.0, gt=0)
    schedule: str = sgd_default("schedule", "cosine")
    train_mode: bool = False


@register("scrub")
class Scrub(VisualMethod):
    Config = ScrubConfig

    def unlearn(self, task) -> dict:
        c, gen, model = self.config, task.generator(), task.model
        teacher = task.frozen_copy()

        def loss(pair):
            r, f = pair
            xf, xr = task.x(f), task.x(r)
            forget = -kl_to(id_log_probs(teacher, xf, c.scale), id_log_probs(model, xf, c.scale))
            keep = kl_to(id_log_probs(teacher, xr, c.scale), id_log_probs(model, xr, c.scale))
            return forget + keep + am_loss(task, model, r)

        return run_sgd(task, model.parameters(), c,
                       lambda e: zipped(task.retain_idx, task.forget_idx, c.batch_size, gen, c.balance), loss)
