"""SCRUB (the original, Kurmanji et al. 2023, as the reference runs it in one combined step):
−KL(forget) + KL(retain) + AM-Softmax(retain) against the frozen original (`cv/unlearning/scrub_orig.py`).

The distributions are over identities (softmax of the AM head's scaled cosines); the reference takes a
softmax over the 512 embedding dimensions instead, which is no distribution over anything."""
from dataclasses import dataclass

from .base import VisualMethod, am_loss, id_log_probs, kl_to, register, run_sgd, zipped


@dataclass
class ScrubConfig:
    """Attributes:
        scale: identity distribution softmax(scale·cos) over the AM head's classes (ours: 3; the head's own
            s = 30 saturates p(true identity) to 1 in float32 on a memorised image, where this loss has no
            gradient; the reference reads a plain linear layer instead).
        balance: times each forget image is repeated per epoch (reference: 10).
        epochs: passes (5).
        lr: SGD learning rate (0.01).
        batch_size: images per step, each stream (256).
        weight_decay: (5e-5).
        schedule: per-epoch cosine decay ("cosine", as the reference).
        train_mode: batch-norm in training mode (the reference runs in net.eval()).
    """

    balance: int = 10
    scale: float = 3.0
    epochs: int = 5
    lr: float = 0.01
    batch_size: int = 256
    weight_decay: float = 5e-5
    schedule: str = "cosine"
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
