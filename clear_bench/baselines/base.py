"""The interface every unlearning method implements, and the context the runner hands it.

A method is a small class: a documented `Config` dataclass (its fields become CLI flags), the
batch streams it reads, and one `loss(model, batch, ctx)`. Optional hooks: `setup` (before the
first step), `parameters` (which weights train), `on_step` (after each optimiser step, e.g.
SCRUB's rewind checkpoints), `finish` (after the last step, e.g. SKU's task-vector negation).
Exact-unlearning methods (`retrains = True`, e.g. SISA) replace the loss loop with `retrain`, and
may do their training-time work in `prepare`, before the unlearning clock starts.

`UnlearnInputs`, `UnlearnContext` and `model_logits` are defined in `clear_bench.training.context`
(below the methods, where the runner uses them) and re-exported here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from ..config import setting
from ..training.context import UnlearnContext, UnlearnInputs, model_logits

__all__ = ["MethodConfig", "UnlearnContext", "UnlearnInputs", "UnlearningMethod", "model_logits"]


@dataclass
class MethodConfig:
    """Hyper-parameters shared by the methods that have a retain term.

    Attributes:
        retain_weight: α, the weight of the retain loss.
    """

    retain_weight: float = setting(1.0, ge=0)


class UnlearningMethod:
    """Base class. Subclasses set `name`, `streams`, maybe `Config` and `needs_reference`, and `loss`.

    Streams a loss may read from `batch`: "forget" (forget question + its answer), "retain" (a seeded
    retain item paired with each forget item), "idk" (forget question + a refusal), "mismatch"
    (forget question + a retain person's answer), "forget_mismatch" (forget question + another forget
    person's answer). Each stream is a dict of model inputs with labels.
    """

    name: ClassVar[str] = ""
    Config: ClassVar[type] = MethodConfig
    streams: ClassVar[tuple[str, ...]] = ("forget",)
    needs_reference: ClassVar[bool] = False
    retrains: ClassVar[bool] = False  # exact unlearning: `retrain` replaces the loss loop
    # `clear-eval` settings the method does not read (JobConfig field names, e.g. "lr"): giving one is an error
    ignores: ClassVar[tuple[str, ...]] = ()
    paper: ClassVar[str] = ""
    # Where the demo preset's shared recipe cannot show this method's effect on the tiny demo model: settings that
    # replace it with `--preset demo` only, {"unlearn": {UnlearnConfig field: v}, "train": {TrainConfig field: v},
    # "method": {Config field: v}}, each documented with its reason where it is set. Flags the user gives win.
    demo_overrides: ClassVar[dict] = {}

    def __init__(self, config=None):
        self.config = config if config is not None else self.Config()
        self.info: dict = {}  # facts about the run a method reports (written to unlearn.json)

    @property
    def needs_holdout(self) -> bool:
        """Whether this configuration reads `UnlearnInputs.holdout` (the runner then loads it or fails early)."""
        return False

    def prepare(self, processor, inputs: UnlearnInputs) -> None:
        """Called by the job before the unlearning clock starts: training-time work (not unlearning cost)."""

    def setup(self, model, ctx: "UnlearnContext") -> None:
        """Called once before training."""

    def on_step(self, model, ctx: "UnlearnContext", steps_done: int) -> None:
        """Called after every optimiser step; `steps_done` counts the steps taken so far."""

    def parameters(self, model):
        """The parameters to train (default: everything that requires grad)."""
        return [p for p in model.parameters() if p.requires_grad]

    def loss(self, model, batch: dict, ctx: "UnlearnContext") -> torch.Tensor:
        raise NotImplementedError

    def finish(self, model, ctx: "UnlearnContext"):
        """Called once after training; returns the final model."""
        return model

    def retrain(self, model, processor, inputs: UnlearnInputs, config):
        """Exact unlearning (only when `retrains`): returns (unlearned model, UnlearnResult)."""
        raise NotImplementedError
