"""The interface every unlearning method implements, and the context the runner hands it.

A method is a small class: a documented `Config` dataclass (its fields become CLI flags), the
batch streams it reads, and one `loss(model, batch, ctx)`. Optional hooks: `setup` (before the
first step), `parameters` (which weights train), `finish` (after the last step, e.g. SKU's
task-vector negation).
"""
from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass
from typing import ClassVar

import torch

from .losses import sequence_logprob


@dataclass
class MethodConfig:
    """Hyper-parameters shared by the methods that have a retain term.

    Attributes:
        retain_weight: α, the weight of the retain loss.
    """

    retain_weight: float = 1.0


class UnlearningMethod:
    """Base class. Subclasses set `name`, `streams`, maybe `Config` and `needs_reference`, and `loss`.

    Streams a loss may read from `batch`: "forget" (forget question + its answer), "retain" (a seeded
    retain item paired with each forget item), "idk" (forget question + a refusal), "mismatch"
    (forget question + another person's answer). Each stream is a dict of model inputs with labels.
    """

    name: ClassVar[str] = ""
    Config: ClassVar[type] = MethodConfig
    streams: ClassVar[tuple[str, ...]] = ("forget",)
    needs_reference: ClassVar[bool] = False
    paper: ClassVar[str] = ""

    def __init__(self, config=None):
        self.config = config if config is not None else self.Config()

    def setup(self, model, ctx: "UnlearnContext") -> None:
        """Called once before training."""

    def parameters(self, model):
        """The parameters to train (default: everything that requires grad)."""
        return [p for p in model.parameters() if p.requires_grad]

    def loss(self, model, batch: dict, ctx: "UnlearnContext") -> torch.Tensor:
        raise NotImplementedError

    def finish(self, model, ctx: "UnlearnContext"):
        """Called once after training; returns the final model."""
        return model


class UnlearnContext:
    """What a method may ask the runner: the step, the epoch, and the frozen reference model.

    With LoRA the reference is the same model with its adapters disabled (no second copy); in full
    fine-tuning a frozen copy is kept, made only for methods that need one. Reference sequence
    log-likelihoods are cached per item, since the reference never changes.
    """

    def __init__(self, model, accelerator=None, steps_per_epoch: int = 1, total_steps: int = 1,
                 needs_reference: bool = False):
        self.accelerator = accelerator
        self.step = 0
        self.steps_per_epoch = max(1, steps_per_epoch)
        self.total_steps = total_steps
        self._ref_cache: dict[tuple[str, str], float] = {}
        self._frozen = None
        base = self.unwrap(model)
        if needs_reference and not hasattr(base, "disable_adapter"):
            self._frozen = copy.deepcopy(base).eval().requires_grad_(False)

    @property
    def epoch(self) -> int:
        return self.step // self.steps_per_epoch

    def unwrap(self, model):
        return self.accelerator.unwrap_model(model) if self.accelerator is not None else model

    @contextlib.contextmanager
    def _reference(self, model):
        base = self.unwrap(model)
        if self._frozen is not None:
            yield self._frozen
        elif hasattr(base, "disable_adapter"):
            was = base.training
            base.eval()
            with base.disable_adapter():
                yield base
            base.train(was)
        else:
            raise RuntimeError("this method needs a reference model; construct the context with needs_reference")

    @torch.no_grad()
    def reference_logits(self, model, inputs: dict) -> torch.Tensor:
        model_inputs = {k: v for k, v in inputs.items() if k != "labels"}
        with self._reference(model) as ref:
            return ref(**model_inputs).logits

    @torch.no_grad()
    def reference_hidden(self, model, inputs: dict, layer: int) -> torch.Tensor:
        model_inputs = {k: v for k, v in inputs.items() if k != "labels"}
        with self._reference(model) as ref:
            return ref(**model_inputs, output_hidden_states=True).hidden_states[layer]

    def reference_seq_logprob(self, model, inputs: dict, ids: list[str], stream: str) -> torch.Tensor:
        """Sref per sequence, computed once per item and then read from the cache."""
        missing = [i for i, k in enumerate(ids) if (stream, k) not in self._ref_cache]
        if missing:
            values = sequence_logprob(self.reference_logits(model, inputs), inputs["labels"])
            for i in missing:
                self._ref_cache[(stream, ids[i])] = float(values[i])
        device = inputs["labels"].device
        return torch.tensor([self._ref_cache[(stream, k)] for k in ids], device=device)


def model_logits(model, inputs: dict) -> torch.Tensor:
    """Logits aligned with `inputs["labels"]` (the last `logits_to_keep` positions when the collator cropped)."""
    return model(**{k: v for k, v in inputs.items() if k != "labels"}).logits
