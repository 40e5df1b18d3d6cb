"""What a visual unlearning method is: a class with a `Config` dataclass (its hyper-parameters, the reference's
as defaults) and `unlearn(task)`, which changes one split model in place. The job calls it once per split
model. Register with `@register("name")`; plug-ins are `module:Class` names (`get_method`).
"""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from ...config import build_config, setting
from ...errors import ClearBenchError
from ...registry import Registry, import_class
from ..data import FaceSet
from ..model import FaceNet, am_softmax_logits, am_softmax_loss
from ..train import SGDRecipe, batches, sgd_loop


@dataclass
class UnlearnTask:
    """One split model to unlearn, and what a method may read.

    Attributes:
        model: the trained split model (backbone + AM-Softmax head); changed in place.
        faces: every image of every identity.
        forget_idx: image indices of the identities this split unlearns.
        retain_idx: image indices of this split's retain identities.
        device: where to compute.
        seed: this split's unlearning seed.
        fresh: builds the starting (pretrained, untrained head) model with a seed: Gold retrains from it.
        train_recipe: the recipe the split models were trained with (Gold reuses it).
    """

    model: FaceNet
    faces: FaceSet
    forget_idx: torch.Tensor
    retain_idx: torch.Tensor
    device: torch.device
    seed: int
    fresh: Callable[[int], FaceNet]
    train_recipe: SGDRecipe

    def generator(self) -> torch.Generator:
        return torch.Generator().manual_seed(self.seed)

    def frozen_copy(self) -> FaceNet:
        """The model as it is now, in eval mode, without gradients (the "original" teacher)."""
        twin = copy.deepcopy(self.model).eval()
        for p in twin.parameters():
            p.requires_grad_(False)
        return twin

    def x(self, idx: torch.Tensor) -> torch.Tensor:
        return self.faces.pixels(idx, self.device)

    def y(self, idx: torch.Tensor) -> torch.Tensor:
        return self.faces.labels[idx].to(self.device)

    @torch.no_grad()
    def embed(self, model: FaceNet, idx: torch.Tensor, flip: bool = False, batch_size: int = 256) -> torch.Tensor:
        """Embeddings of images `idx` (horizontally flipped if `flip`), in eval mode."""
        was = model.training
        model.eval()
        out = torch.cat([model(torch.flip(self.x(b), dims=(-1,)) if flip else self.x(b)) for b in idx.split(batch_size)])
        model.train(was)
        return out


@dataclass
class NoConfig:
    """This method has no hyper-parameters."""


@dataclass
class SGDConfig:
    """The SGD settings every training visual method has (each script of the reference's `cv/unlearning/`
    builds `torch.optim.SGD(lr, momentum=0.9, weight_decay=5e-5)`); a method's Config extends it and gives its own
    defaults with `sgd_default` (the range stays the one declared here).

    Attributes:
        epochs: passes over the method's training images.
        lr: SGD learning rate.
        batch_size: images per step (each stream, for methods that zip two).
        weight_decay: L2 weight decay (the reference's 5e-5).
        momentum: SGD momentum (the reference's 0.9).
        schedule: learning-rate schedule: constant, or cosine (per epoch, to 0 at the end, as the reference's
            CosineAnnealingLR(T_max=epochs)).
        train_mode: batch-norm in training mode (net.train()); False: the reference's net.eval() scripts.
    """

    epochs: int = setting(5, ge=1)
    lr: float = setting(0.01, gt=0, le=10, note="above 10 SGD diverges on every face-ID model")
    batch_size: int = setting(256, ge=1)
    weight_decay: float = setting(5e-5, ge=0, le=1)
    momentum: float = setting(0.9, ge=0, lt=1)
    schedule: str = setting("constant", choices=("constant", "cosine"))
    train_mode: bool = True


def sgd_default(name: str, value):
    """`SGDConfig`'s field `name` (its range) with a method's own default."""
    return dataclasses.field(default=value, metadata=SGDConfig.__dataclass_fields__[name].metadata)


class VisualMethod:
    """Base class: override `unlearn`. `Config` documents every hyper-parameter (defaults: the reference's)."""

    name = ""
    Config: type = NoConfig
    doc = ""

    def __init__(self, config=None):
        self.config = config if config is not None else self.Config()

    def unlearn(self, task: UnlearnTask) -> dict:
        """Unlearn `task.forget_idx` from `task.model`, in place; return what to log (losses, ...)."""
        raise NotImplementedError


METHODS: Registry[type[VisualMethod]] = Registry("visual method")


def register(name: str):
    def deco(cls):
        cls.name = name
        return METHODS.add(name, cls)

    return deco


def available() -> list[str]:
    from . import _load_all  # noqa: F401

    return sorted(METHODS)


def get_method(name: str) -> type[VisualMethod]:
    """A registered visual method, or `module:Class` (a plug-in subclassing VisualMethod)."""
    available()
    if ":" in name:
        return import_class(name, VisualMethod, "visual method", "clear_bench.visual.methods.VisualMethod")
    if name not in METHODS:
        from ...baselines import available as multimodal_methods

        if name in multimodal_methods():
            raise ClearBenchError(f"method '{name}' belongs to the multimodal track, not --track visual; the visual "
                                  f"track has: {', '.join(available())}")
    return METHODS.get(name)


def build_method(name: str, args: dict, defaults: dict | None = None) -> VisualMethod:
    """Instantiate a method: `defaults` (a preset's, for fields the method has) then `args` (--method-arg; unknown
    keys and out-of-range values fail, before any work) override its Config."""
    cls = get_method(name)
    return cls(build_config(cls.Config, args, f"visual method '{name}'", defaults))


# ---------------------------------------------------------------------------------------------- shared pieces

def am_loss(task: UnlearnTask, model: FaceNet, idx: torch.Tensor, labels: torch.Tensor | None = None,
            s: float = 30.0, m: float = 0.4) -> torch.Tensor:
    """AM-Softmax loss of images `idx` (their own identities unless `labels`)."""
    return am_softmax_loss(model(task.x(idx)), model.head.weight, task.y(idx) if labels is None else labels, s, m)


def id_log_probs(model: FaceNet, x: torch.Tensor, s: float = 30.0) -> torch.Tensor:
    """Log-probabilities over identities: softmax of the AM head's scaled cosines (no margin)."""
    return F.log_softmax(am_softmax_logits(model(x), model.head.weight, None, s), dim=1)


def kl_to(teacher_logp: torch.Tensor, student_logp: torch.Tensor) -> torch.Tensor:
    """KL(teacher ‖ student), batch mean (torch's KLDivLoss(student, teacher) as the reference calls it)."""
    return F.kl_div(student_logp, teacher_logp, log_target=True, reduction="batchmean")


def zipped(a: torch.Tensor, b: torch.Tensor, batch_size: int, gen: torch.Generator, repeat_b: int = 1):
    """An epoch of (batch of a, batch of b) pairs, as the reference's zip(retain, forget) (the shorter stops it)."""
    return list(zip(batches(a, batch_size, gen), batches(b, batch_size, gen, repeat_b)))


def run_sgd(task: UnlearnTask, params, cfg: SGDConfig, steps, loss_fn) -> dict:
    """`sgd_loop` with the method's SGD settings."""
    task.model.train(cfg.train_mode)
    return {"losses": sgd_loop(params, cfg.epochs, cfg.lr, steps, loss_fn, cfg.momentum, cfg.weight_decay,
                               cfg.schedule)}
