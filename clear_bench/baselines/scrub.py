"""SCRUB: alternate max-steps (move away from the teacher on forget) and min-steps (stay close on retain).

With `rewind=true` (SCRUB+R, for privacy): a checkpoint of the trainable weights is kept in memory
every `rewind_every` steps (default: every epoch), with its forget error and its error on a
validation set of persons never trained on (the holdout persons, distributed like the forget set).
At the end the checkpoint whose forget error is closest to the validation error is restored:
forgetting *more* than a model that never saw the persons makes the forget set stand out again,
which is exactly what a membership-inference attack detects.
"""
import logging
from dataclasses import dataclass

import torch

from ..config import setting
from ..errors import ClearBenchError
from .base import UnlearningMethod, model_logits
from .losses import cross_entropy, kl_ref_to_model, token_logprobs
from .registry import register

log = logging.getLogger(__name__)


def _fmt(errors: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.3f}" for k, v in errors.items())


@dataclass
class SCRUBConfig:
    """SCRUB hyper-parameters (Kurmanji et al. 2023, Eq. 3-4; `rewind` is their SCRUB+R).

    Attributes:
        max_epochs: epochs during which max-steps alternate with min-steps; later epochs do min-steps only.
        alpha: α, weight of the retain KL in the min-step.
        gamma: γ, weight of the retain cross-entropy in the min-step.
        rewind: end on the checkpoint whose forget error is closest to the validation (holdout) error;
            needs a holdout config in the data.
        rewind_every: steps between rewind checkpoints; 0 = one per epoch.
    """

    max_epochs: int = setting(2, ge=0)
    alpha: float = setting(1.0, ge=0)
    gamma: float = setting(1.0, ge=0)
    rewind: bool = False
    rewind_every: int = setting(0, ge=0, note="0 = once per epoch")


@torch.no_grad()
def stream_errors(model, processor, samples, batch_size: int = 8) -> dict[str, float]:
    """Mean over items of the per-item mean answer-token NLL, per stream ("image" / "text")."""
    from ..data.collator import Collator

    collate = Collator(processor)
    device = next(model.parameters()).device
    sums: dict[str, list[float]] = {}
    was = model.training
    model.eval()
    try:
        for i in range(0, len(samples), batch_size):
            chunk = samples[i:i + batch_size]
            batch = {k: v.to(device) for k, v in collate(chunk).items()}
            logp, mask = token_logprobs(model_logits(model, batch), batch["labels"])
            nll = (-logp.sum(1) / mask.sum(1).clamp(min=1)).tolist()
            for s, v in zip(chunk, nll):
                sums.setdefault("image" if s.has_image else "text", []).append(v)
    finally:
        model.train(was)
    return {k: sum(v) / len(v) for k, v in sums.items()}


def rewind_gap(forget: dict[str, float], valid: dict[str, float], weights: dict[str, float]) -> float:
    """|forget error − validation error|, each error the mean over streams weighted by the forget set's
    stream mix (so a holdout set with another image/text ratio does not shift the target)."""
    common = [k for k in weights if k in forget and k in valid]
    if not common:
        raise ClearBenchError(f"the validation set has none of the forget set's streams ({', '.join(weights)})")
    total = sum(weights[k] for k in common)
    return abs(sum(weights[k] * (forget[k] - valid[k]) for k in common)) / total


@register
class SCRUB(UnlearningMethod):
    name = "scrub"
    Config = SCRUBConfig
    streams = ("forget", "retain")
    needs_reference = True
    paper = "Kurmanji et al. 2023, 'Towards unbounded machine unlearning', Eq. 3 (max) and Eq. 4 (min)"
    # The demo's forget set is 3 steps an epoch, so max_epochs=2 gives 3 max-steps, the first at KL = 0 (no
    # gradient: the student is the teacher), and the forget KL stays ~0. Max-steps for half of the 10 epochs at
    # lr 5e-3 move the forget outputs away from the teacher while the min-steps keep retain close
    # (tests/test_method_effects.py).
    demo_overrides = {"train": {"lr": 5e-3}, "method": {"max_epochs": 5}}

    @property
    def needs_holdout(self) -> bool:
        return self.config.rewind

    def is_max_step(self, ctx) -> bool:
        return ctx.epoch < self.config.max_epochs and ctx.step % 2 == 0

    def loss(self, model, batch, ctx):
        if self.is_max_step(ctx):
            f = batch["forget"]
            return -kl_ref_to_model(model_logits(model, f), ctx.reference_logits(model, f), f["labels"])
        r = batch["retain"]
        logits = model_logits(model, r)
        return (self.config.alpha * kl_ref_to_model(logits, ctx.reference_logits(model, r), r["labels"])
                + self.config.gamma * cross_entropy(logits, r["labels"]))

    # ---- rewind (SCRUB+R)

    def setup(self, model, ctx):
        self._checkpoints, self._last = [], 0
        if not self.config.rewind:
            return
        if not ctx.inputs.holdout:
            raise ClearBenchError("scrub rewind=true needs a validation set of persons never trained on (a "
                                  "'holdout_perturbed' config in the data); the runner passed none")
        if ctx.processor is None:
            raise ClearBenchError("scrub rewind=true needs the processor in the unlearning context")
        self._every = self.config.rewind_every or ctx.steps_per_epoch
        kinds = ["image" if s.has_image else "text" for s in ctx.inputs.forget]
        self._weights = {k: kinds.count(k) / len(kinds) for k in set(kinds)}

    def _checkpoint(self, model, ctx, steps_done: int) -> None:
        base = ctx.unwrap(model)
        forget = stream_errors(base, ctx.processor, ctx.inputs.forget)
        valid = stream_errors(base, ctx.processor, ctx.inputs.holdout)
        state = {n: p.detach().to("cpu", copy=True) for n, p in base.named_parameters() if p.requires_grad}
        self._checkpoints.append({"steps": steps_done, "forget_error": forget, "validation_error": valid,
                                  "gap": rewind_gap(forget, valid, self._weights), "state": state})

    def on_step(self, model, ctx, steps_done):
        self._last = steps_done
        if self.config.rewind and steps_done % self._every == 0:
            self._checkpoint(model, ctx, steps_done)

    @torch.no_grad()
    def finish(self, model, ctx):
        if not self.config.rewind or self._last == 0:
            return model
        if not self._checkpoints or self._checkpoints[-1]["steps"] != self._last:
            self._checkpoint(model, ctx, self._last)  # the final weights are a candidate too
        best = min(self._checkpoints, key=lambda c: c["gap"])
        params = dict(ctx.unwrap(model).named_parameters())
        for n, v in best["state"].items():
            params[n].copy_(v.to(params[n].device))
        log.info("scrub rewind: restored the checkpoint after step %d of %d (forget %s, validation %s)",
                 best["steps"], self._last, _fmt(best["forget_error"]), _fmt(best["validation_error"]))
        self.info["rewind"] = {"chosen_steps": best["steps"], "final_steps": self._last,
                               "checkpoints": [{k: c[k] for k in ("steps", "forget_error", "validation_error", "gap")}
                                               for c in self._checkpoints]}
        self._checkpoints = []  # free the stored weights
        return model

