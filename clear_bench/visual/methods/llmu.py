"""LLMU (Yao et al. 2023) for face-ID: 0.02·(−AM-Softmax on forget) + KL(original ‖ model) on retain
+ 0.01·AM-Softmax of forget images towards random retain identities (`cv/unlearning/llmu.py`)."""
from dataclasses import dataclass

import torch

from .base import VisualMethod, am_loss, id_log_probs, kl_to, register, run_sgd, zipped


@dataclass
class LLMUConfig:
    """Attributes:
        scale: identity distribution softmax(scale·cos) over the AM head's classes (ours: 3; the head's own
            s = 30 saturates p(true identity) to 1 in float32 on a memorised image, where this loss has no
            gradient; the reference reads a plain linear layer instead).
        forget_weight: weight of the forget ascent term (reference: 0.02).
        random_weight: weight of the random-identity term (0.01).
        balance: times each forget image is repeated per epoch (10).
        epochs: passes (5).
        lr: SGD learning rate (0.01).
        batch_size: images per step, each stream (256).
        weight_decay: (5e-5).
        schedule: "cosine" (the reference's).
        train_mode: batch-norm in training mode (the reference runs in net.eval()).
    """

    forget_weight: float = 0.02
    scale: float = 3.0
    random_weight: float = 0.01
    balance: int = 10
    epochs: int = 5
    lr: float = 0.01
    batch_size: int = 256
    weight_decay: float = 5e-5
    schedule: str = "cosine"
    train_mode: bool = False


@register("llmu")
class LLMU(VisualMethod):
    Config = LLMUConfig

    def unlearn(self, task) -> dict:
        c, gen, model = self.config, task.generator(), task.model
        teacher = task.frozen_copy()
        retain_ids = task.faces.labels[task.retain_idx].unique()

        def loss(pair):
            r, f = pair
            random_ids = retain_ids[torch.randint(len(retain_ids), (len(f),), generator=gen)].to(task.device)
            xr = task.x(r)
            keep = kl_to(id_log_probs(teacher, xr, c.scale), id_log_probs(model, xr, c.scale))
            return (-c.forget_weight * am_loss(task, model, f) + keep
                    + c.random_weight * am_loss(task, model, f, labels=random_ids))

        return run_sgd(task, model.parameters(), c,
                       lambda e: zipped(task.retain_idx, task.forget_idx, c.batch_size, gen, c.balance), loss)
