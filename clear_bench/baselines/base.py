"""The interface every unlearning method implements, and the context the runner hands it.

A method is a small class: a documented `Config` dataclass (its fields become CLI flags), the
batch streams it reads, and one `loss(model, batch, ctx)`. Optional hooks: `setup` (before the
first step), `parameters` (which weights train), `on_step` (after each optimiser step, e.g.
SCRUB's rewind checkpoints), `finish` (after the last step, e.g. SKU's task-vector negation).
Exact-unlearning methods (`retrains = True`, e.g. SISA) replace the loss loop with `retrain`, and
may do their training-time work in `prepare`, before the unlearning clock starts.
"""
from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch

from .losses import sequence_logprob


@dataclass
class MethodConfig:
    """Hyper-parameters shared by the methods that have a retain term.

    Attributes:
        retain_weight: α, the weight of the retain loss.
    """

    retain_weight: float = 1.0


@dataclass
class UnlearnInputs:
    """What the runner knows beyond the forget/retain pairs, for the methods that need more.

    Attributes:
        forget: the forget stream's samples (the runner fills them in from the pairs).
        holdout: samples of persons never trained on, distributed like the forget stream (a
            validation set, e.g. for SCRUB's rewind); empty when the data has no holdout config.
        source: the `DataSource` the target model was fine-tuned on (methods that retrain).
        finetune: the target model's `FinetuneConfig` (its recipe).
        base: the model the target was fine-tuned from (Hub id or folder; the tiny base for the demo).
        cache_dir: where a method may keep what it trains before any forget request.
        seed: the run's seed.
    """

    forget: list = field(default_factory=list)
    holdout: list = field(default_factory=list)
    source: Any = None
    finetune: Any = None
    base: str | None = None
    cache_dir: Path | None = None
    seed: int = 42


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


class UnlearnContext:
    """What a method may ask the runner: the step, the epoch, the frozen reference model, the
    processor and the `UnlearnInputs`.

    With LoRA the reference is the same model with its adapters disabled (no second copy); in full
    fine-tuning a frozen copy is kept, made only for methods that need one. Reference sequence
    log-likelihoods are cached per item, since the reference never changes.
    """

    def __init__(self, model, accelerator=None, steps_per_epoch: int = 1, total_steps: int = 1,
                 needs_reference: bool = False, processor=None, inputs: UnlearnInputs | None = None):
        self.accelerator = accelerator
        self.processor = processor
        self.inputs = inputs if inputs is not None else UnlearnInputs()
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
