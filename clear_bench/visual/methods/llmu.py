"""LLMU (Yao et al. 2023) for face-ID: 0.02·(−AM-Softmax on forget) + KL(original ‖ model) on retain
+ 0.01·AM-Softmax of forget images towards random retain identities (`cv/unlearning/llmu.py`)."""
from dataclasses import dataclass

import torch

from ...config import setting
from .base import SGDConfig, VisualMethod, am_loss, id_log_probs, kl_to, register, run_sgd, sgd_default, zipped


@dataclass
class LLMUConfig(SGDConfig):
    """Attributes:
        forget_weight: weight of the forget ascent term (`cv/unlearning/llmu.py`: 0.02).
        scale: identity distribution softmax(scale·cos) over the AM head's classes (ours: 3; the head's own
            s = 30 saturates p(true identity) to 1 in float32 on a memorised image, where this loss has no
            gradient; the reference reads a plain linear layer instead).
        random_weight: weight of the random-identity term (llmu.py: 0.01).
        balance: times each forget image is repeated per epoch (llmu.py --balance 10).
        epochs: passes (llmu.py --n_epochs 5).
        lr: SGD learning rate (llmu.py --lr 0.01).
        schedule: learning-rate schedule (llmu.py: CosineAnnealingLR(T_max=n_epochs)).
        train_mode: batch-norm in training mode (False: llmu.py runs in net.eval()).
    """

    forget_weight: float = setting(0.02, ge=0)
    scale: float = setting(3.0, gt=0)
    random_weight: float = setting(0.01, ge=0)
    balance: int = setting(10, ge=1)
    schedule: str = sgd_default("schedule", "cosine")
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
