"""Run an unlearning method on a fine-tuned model: streams, pairing, reference, L1, the loop.

Modality picks the forget stream (paper section 5.3, Table 3): `text` = TOFU forget QA, `image` = CLEAR forget image
rows, `both` = `forgetNN+tofu`. Every forget item is paired with a retain item from `retainNN+tofu`, and,
for methods that read them, with a refusal ("idk"), a retain person's answer ("mismatch") and another forget
person's answer ("forget_mismatch") to the same question; all but the refusal are redrawn every epoch (`Pairs`).
"""
from __future__ import annotations

import logging
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from ..data.sample import Sample
from ..data.schema import MODALITIES  # noqa: F401  (re-exported: its old home)
from ..errors import ClearBenchError
from ..utils import derive_seed
from .loop import TrainConfig, make_accelerator, train
from .settings import UnlearnConfig, with_overrides  # noqa: F401  (re-exported: their old home)

log = logging.getLogger(__name__)


@dataclass
class UnlearnResult:
    steps: int = 0
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    stopped_at: int | None = None  # step whose loss was not finite (training stopped before it)
    info: dict = field(default_factory=dict)  # what the method reports (rewind checkpoints, SISA shards)
    # the trained LoRA adapters before merging, {"config": peft LoraConfig, "state": {name: tensor}} (None when the
    # method trains full weights or retrains): what `training.saved.save_run_model` keeps in the run folder
    adapters: dict | None = field(default=None, repr=False)


class NonFiniteLoss(ClearBenchError):
    def __init__(self, step: int, value: float):
        self.step = step
        super().__init__(f"unlearning loss became {value} at step {step}; stopped and kept the weights of step "
                         f"{step - 1} (try a lower --lr or a smaller --l1-lambda)")


def select_forget(samples: list[Sample], modality: str) -> list[Sample]:
    if modality not in MODALITIES:
        raise ClearBenchError(f"unknown modality '{modality}'; valid: {', '.join(MODALITIES)}")
    if modality == "both":
        return list(samples)
    keep = [s for s in samples if s.has_image == (modality == "image")]
    if not keep:
        raise ClearBenchError(f"the forget set has no {modality} rows")
    return keep


class Pairs(Sequence):
    """Each forget item with seeded companions, one per stream a method may read:

    retain: a retain item; idk: a refusal to the forget question; mismatch: the forget question with a retain
    item's answer of the same kind (LLMU's random answers from normal data); forget_mismatch: the forget
    question with another forget item's answer of the same kind (SKU's random disassociation, which must not
    teach, and then negate, retain answers; the CLEAR reference draws 3 such answers, we draw 1 per pair).

    The retain, mismatch and forget_mismatch companions are redrawn every epoch, as the CLEAR reference's
    dataset draws them anew on every access (`mm/dataset.py`, `MMMixedForgetDataset.__getitem__`): over 5 epochs
    a method sees up to 5x as many distinct retain rows. Each draw depends only on (seed, epoch, item index),
    never on a global generator, so a resumed run draws what an uninterrupted one does. The refusal is drawn
    once per item and kept (DPO caches the reference likelihood of each refusal by item id).
    Item `i` (`pairs[i]`) is the epoch-0 draw; `draw(i, epoch)` any other.
    """

    def __init__(self, forget: list[Sample], retain: list[Sample], seed: int):
        from ..data.refusals import REFUSALS

        if not retain:
            raise ClearBenchError("the retain set is empty: nothing to pair the forget items with")
        self.forget, self.retain, self.seed = list(forget), list(retain), seed
        self._retain_by_kind = {kind: [s for s in retain if s.has_image == kind] or list(retain)
                                for kind in (False, True)}
        self._forget_by_kind = {kind: [s for s in forget if s.has_image == kind] for kind in (False, True)}
        self._refusals = [random.Random(derive_seed(seed, "idk", s.item_id)).choice(REFUSALS) for s in self.forget]

    def __len__(self) -> int:
        return len(self.forget)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        return self.draw(i, 0)

    def draw(self, i: int, epoch: int) -> dict:
        s = self.forget[i]
        rng = random.Random(derive_seed(self.seed, "pairs", epoch, i))
        retain = rng.choice(self.retain)
        other = rng.choice(self._retain_by_kind[s.has_image])
        others = [x for x in self._forget_by_kind[s.has_image] if x.item_id != s.item_id]
        other_forget = rng.choice(others or [x for x in self.forget if x.item_id != s.item_id] or [other])

        def asked(kind: str, answer: str) -> Sample:
            return Sample(f"{s.item_id}#{kind}", s.question, answer, image=s.image, person=s.person,
                          source=s.source)

        return {"index": i, "forget": s, "retain": retain, "idk": asked("idk", self._refusals[i]),
                "mismatch": asked(f"mismatch:{other.item_id}", other.answer),
                "forget_mismatch": asked(f"forget-mismatch:{other_forget.item_id}", other_forget.answer)}


def make_pairs(forget: list[Sample], retain: list[Sample], seed: int) -> Pairs:
    """The forget items paired with their companions (`Pairs`: redrawn per epoch from `seed`)."""
    return Pairs(forget, retain, seed)


class PairCollator:
    """Collates the streams a method reads; keeps item ids for the reference cache. Given the `Pairs` the
    items came from, it collates epoch `e`'s companions once the loop has called `set_epoch(e)`."""

    def __init__(self, processor, streams, pairs=None):
        from ..data.collator import Collator

        self.collate = Collator(processor, answer_logits_only=True)
        self.streams = streams
        self.pairs = pairs if isinstance(pairs, Pairs) else None
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __call__(self, pairs):
        if self.pairs is not None and self.epoch:
            pairs = [self.pairs.draw(p["index"], self.epoch) for p in pairs]
        batch = {k: self.collate([p[k] for p in pairs]) for k in self.streams}
        batch["ids"] = {k: [p[k].item_id for p in pairs] for k in self.streams}
        return batch


def l1_penalty(named_params, theta0: dict | None) -> torch.Tensor:
    terms = [(p - theta0[n]).abs().sum() if theta0 is not None else p.abs().sum() for n, p in named_params]
    return torch.stack(terms).sum()


def holdout_samples(source, modality: str) -> list[Sample]:
    """Training-style samples of the holdout persons (never trained on) in the forget stream's modality:
    CLEAR `holdout_perturbed` image rows (image) and/or TOFU `holdout_perturbed` QA (text)."""
    from ..data.convert import training_samples
    from ..errors import SchemaError

    if modality not in MODALITIES:
        raise ClearBenchError(f"unknown modality '{modality}'; valid: {', '.join(MODALITIES)}")
    wanted = {"image": ("clear",), "text": ("tofu",), "both": ("clear", "tofu")}[modality]
    out = []
    for dataset in wanted:
        try:
            ds = source.load(dataset, "holdout_perturbed")
        except SchemaError as e:  # a missing config; an unreachable Hub keeps its own message
            raise ClearBenchError(f"no validation set of never-trained persons for the {modality} forget stream: "
                                  f"{source.name(dataset)} has no 'holdout_perturbed' config (generated data, "
                                  "e.g. `clear-generate` or the demo, has one; therem/CLEAR does not)") from e
        rows = training_samples(ds, source.name(dataset), "holdout_perturbed")
        out += [s for s in rows if s.has_image == (dataset == "clear")]
    return out


def adapter_state(peft_model) -> dict:
    """An unmerged copy of a peft model's trained adapters: its LoRA config and a detached CPU copy of its
    adapter weights, as peft's own `save_pretrained` would write them (`get_peft_model_state_dict`)."""
    import copy

    from peft import get_peft_model_state_dict

    name = getattr(peft_model, "active_adapter", "default")
    state = get_peft_model_state_dict(peft_model, adapter_name=name)
    return {"config": copy.deepcopy(peft_model.peft_config[name]),
            "state": {k: v.detach().to("cpu", copy=True).contiguous() for k, v in state.items()}}


def unlearn(model, processor, method, pairs: list[dict], config: UnlearnConfig, accelerator=None, inputs=None,
            checkpoint_dir=None, clock=None):
    """Unlearn in place; returns (model with adapters merged, UnlearnResult).

    `inputs` (`UnlearnInputs`) carries what some methods read beyond the pairs: holdout samples
    (SCRUB's rewind), the data and recipe of the target model (SISA). With `checkpoint_dir`, a killed
    run resumes from its last finished epoch, and `clock` (an `efficiency.measure`) with it."""
    from dataclasses import replace

    from .context import UnlearnContext, UnlearnInputs
    from ..models.lora import apply_lora, freeze_vision

    inputs = inputs if inputs is not None else UnlearnInputs()
    if not inputs.forget:
        inputs = replace(inputs, forget=[p["forget"] for p in pairs])
    if method.retrains:
        return method.retrain(model, processor, inputs, config)
    accelerator = accelerator or make_accelerator(config.train.grad_accum)
    freeze_vision(model)
    if config.lora_r > 0:
        model = apply_lora(model, r=config.lora_r, alpha=config.lora_alpha)
    per_epoch = math.ceil(len(pairs) / config.train.batch_size / max(1, accelerator.num_processes)
                          / config.train.grad_accum)
    ctx = UnlearnContext(model, accelerator, steps_per_epoch=per_epoch,
                         total_steps=math.ceil(per_epoch * config.train.epochs), needs_reference=method.needs_reference,
                         processor=processor, inputs=inputs)
    method.setup(model, ctx)
    params = method.parameters(model)
    trainable = {id(p) for p in params}
    named = [(n, p) for n, p in model.named_parameters() if id(p) in trainable]
    theta0 = None if config.lora_r > 0 else {n: p.detach().clone() for n, p in named}

    def loss_fn(m, batch, step):
        ctx.step = step
        loss = method.loss(m, batch, ctx)
        if config.l1_lambda:
            loss = loss + config.l1_lambda * l1_penalty(named, theta0)
        if not torch.isfinite(loss):
            raise NonFiniteLoss(step, loss.item())
        return loss

    result = UnlearnResult()
    try:
        r = train(model, pairs, PairCollator(processor, method.streams, pairs), config.train, accelerator=accelerator,
                  loss_fn=loss_fn, params=params, desc=f"unlearn {method.name}", checkpoint_dir=checkpoint_dir,
                  on_step=lambda step: method.on_step(model, ctx, step + 1),
                  extra_state={"clock": clock} if clock is not None else None)
        result.steps, result.losses, result.seconds = r.steps, r.losses, r.seconds
    except NonFiniteLoss as e:
        log.error("%s", e)
        result.stopped_at = e.step
    model = accelerator.unwrap_model(model)
    model = method.finish(model, ctx)
    if config.lora_r > 0:
        result.adapters = adapter_state(model)
        model = model.merge_and_unload()
    result.info = dict(getattr(method, "info", {}))
    return model, result
