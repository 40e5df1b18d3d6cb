"""What a visual unlearning method is: a class with a `Config` dataclass (its hyper-parameters, the reference's
as defaults) and `unlearn(task)`, which changes one split model in place. The job calls it once per split
model. Register with `@register("name")`; plug-ins are `module:Class` names (`get_method`).
"""
from __future__ import annotations

import copy
import dataclasses
import importlib
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from ...errors import ClearBenchError, UnknownNameError
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


METHODS: dict[str, type[VisualMethod]] = {}


def register(name: str):
    def deco(cls):
        cls.name = name
        METHODS[name] = cls
        return cls

    return deco


def available() -> list[str]:
    from . import _load_all  # noqa: F401

    return sorted(METHODS)


def get_method(name: str) -> type[VisualMethod]:
    """A registered visual method, or `module:Class` (a plug-in subclassing VisualMethod)."""
    available()
    if ":" in name:
        mod, _, attr = name.partition(":")
        try:
            cls = getattr(importlib.import_module(mod), attr)
        except (ImportError, AttributeError) as e:
            raise ClearBenchError(f"cannot import visual method '{name}': {e}") from None
        if not (isinstance(cls, type) and issubclass(cls, VisualMethod)):
            raise ClearBenchError(f"'{name}' is not a VisualMethod subclass (clear_bench.visual.methods.base)")
        return cls
    if name not in METHODS:
        from ...baselines import available as multimodal_methods

        if name in multimodal_methods():
            raise ClearBenchError(f"method '{name}' belongs to the multimodal track, not --track visual; the visual "
                                  f"track has: {', '.join(sorted(METHODS))}")
        raise UnknownNameError("visual method", name, METHODS)
    return METHODS[name]


def _parse(raw, typ):
    if typ is bool:
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ValueError(raw)
    return typ(raw)


def build_method(name: str, args: dict, defaults: dict | None = None) -> VisualMethod:
    """Instantiate a method: `defaults` (a preset's, for fields the method has) then `args` (--method-arg; unknown
    keys fail) override its Config."""
    cls = get_method(name)
    known = {f.name for f in dataclasses.fields(cls.Config)}
    values = {k: v for k, v in (defaults or {}).items() if k in known}
    for key, raw in args.items():
        if key not in known:
            raise ClearBenchError(f"visual method '{name}' has no hyper-parameter '{key}'; it has: "
                                  f"{', '.join(sorted(known)) or 'none'}")
        typ = type(getattr(cls.Config(), key))
        try:
            values[key] = _parse(raw, typ)
        except ValueError:
            raise ClearBenchError(f"visual method '{name}': {key}={raw!r} is not a valid {typ.__name__}") from None
    return cls(cls.Config(**values))


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


def run_sgd(task: UnlearnTask, params, cfg, steps, loss_fn) -> dict:
    """`sgd_loop` with the usual Config fields (epochs, lr, momentum, weight_decay, schedule, train_mode)."""
    task.model.train(getattr(cfg, "train_mode", True))
    losses = sgd_loop(params, cfg.epochs, cfg.lr, steps, loss_fn, getattr(cfg, "momentum", 0.9),
                      getattr(cfg, "weight_decay", 5e-5), getattr(cfg, "schedule", "constant"))
    return {"losses": losses}
