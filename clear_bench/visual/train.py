"""SGD on face-ID models: the batching and the learning-rate schedules of CLEAR's `cv/` scripts.

Every loop here trains one model; `splits.py` and the methods call it once per split model.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable

import torch

from ..errors import ClearBenchError
from .data import FaceSet
from .model import FaceNet, am_softmax_loss

SCHEDULES = ("constant", "cosine", "reference")


@dataclass(frozen=True)
class SGDRecipe:
    """SGD with momentum, as every script of the reference's `cv/` folder uses.

    Attributes:
        epochs: passes over the training images.
        lr: learning rate.
        batch_size: images per step (the last, smaller batch is dropped, as the reference does, unless it is the
            only one).
        momentum: SGD momentum.
        weight_decay: L2 weight decay.
        schedule: "constant"; "cosine" (per epoch, to 0 at the end: CosineAnnealingLR(T_max=epochs)); or
            "reference": the reference fine-tune's per-step factor, step·0.005 for the first 21 steps, then
            lr + 0.1·cos(π/2·(step − 20)/(total − 20)) (`cv/finetune.py`; its lr is both the base and a term).
        s: AM-Softmax scale.
        m: AM-Softmax margin.
    """

    epochs: int = 20
    lr: float = 0.1
    batch_size: int = 256
    momentum: float = 0.9
    weight_decay: float = 5e-5
    schedule: str = "reference"
    s: float = 30.0
    m: float = 0.4

    def check(self) -> "SGDRecipe":
        if self.epochs < 0 or self.lr <= 0 or self.batch_size < 1:
            raise ClearBenchError(f"SGD recipe needs epochs >= 0, lr > 0, batch_size >= 1 (got {self})")
        if self.schedule not in SCHEDULES:
            raise ClearBenchError(f"unknown schedule '{self.schedule}'; valid: {', '.join(SCHEDULES)}")
        return self


def lr_factor(schedule: str, lr: float, step: int, epoch: int, total_steps: int, epochs: int) -> float:
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * epoch / max(1, epochs)))
    if schedule == "reference":
        warm, coef = 20, 0.005
        if step <= warm + 1:
            return step * coef
        return lr + warm * coef * math.cos(0.5 * math.pi * (step - warm) / max(1, total_steps - warm))
    return 1.0


def batches(idx: torch.Tensor, batch_size: int, gen: torch.Generator, repeat: int = 1) -> list[torch.Tensor]:
    """One shuffled epoch of `idx` (each index `repeat` times), cut into batches; a last partial batch is dropped
    unless it is the only one."""
    idx = idx.repeat(repeat)
    perm = idx[torch.randperm(len(idx), generator=gen)]
    full = len(perm) // batch_size
    if full == 0:
        return [perm] if len(perm) else []
    return list(perm[: full * batch_size].split(batch_size))


def sgd_loop(params: Iterable[torch.nn.Parameter], epochs: int, lr: float, steps: Callable[[int], list],
             loss_fn: Callable[..., torch.Tensor], momentum: float = 0.9, weight_decay: float = 5e-5,
             schedule: str = "constant") -> list[float]:
    """Run `epochs` of SGD; `steps(epoch)` lists the epoch's batches, `loss_fn(batch)` is their loss. Returns the
    mean loss per epoch (read back once per epoch)."""
    params = [p for p in params if p.requires_grad]
    opt = torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    plan = [steps(e) for e in range(epochs)]
    total, step, history = sum(len(p) for p in plan), 0, []
    for epoch, epoch_batches in enumerate(plan):
        acc = torch.zeros(())
        for batch in epoch_batches:
            step += 1
            for g in opt.param_groups:
                g["lr"] = lr * lr_factor(schedule, lr, step, epoch, total, epochs)
            loss = loss_fn(batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            acc = acc + loss.detach().cpu()
        history.append(float(acc) / max(1, len(epoch_batches)))
    return history


def train_identities(model: FaceNet, faces: FaceSet, idx: torch.Tensor, recipe: SGDRecipe, seed: int,
                     device) -> list[float]:
    """Teach `model` (backbone and head) the identities of images `idx` with AM-Softmax: the split models'
    fine-tuning and the Gold retraining (`cv/finetune.py`, `cv/unlearning/retrain.py`)."""
    gen = torch.Generator().manual_seed(seed)
    model.train()

    def loss(b):
        return am_softmax_loss(model(faces.pixels(b, device)), model.head.weight, faces.labels[b].to(device),
                               recipe.s, recipe.m)

    return sgd_loop(model.parameters(), recipe.epochs, recipe.lr, lambda e: batches(idx, recipe.batch_size, gen),
                    loss, recipe.momentum, recipe.weight_decay, recipe.schedule)
