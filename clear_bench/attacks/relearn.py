"""Relearning attacks: a few steps of fine-tuning on related data bring forgotten knowledge back.

Hu et al. 2024 ("Jogging the memory of unlearned LLMs through targeted relearning attacks") fine-tune an unlearned
model on a small part of the forget data and find the rest comes back; OFFSIDE (2025) ships such a relearning
script for Qwen2.5-VL. Two variants:
  - `relearn-forget`: fine-tune on the forget-stream items of half the forget persons (seeded draw), score the
    forget tasks on the items of the other half (the persons never relearned: what comes back was hidden, not
    re-taught);
    On the text track TOFU's QA name no author (no `author` column in locuslab/TOFU): the split is by position
    instead, the first half of the forget rows relearned and the second half scored. TOFU lists each author's 20
    questions together and its forget sets hold 2, 10 and 20 authors (Maini et al. 2024, TOFU), so the halves are
    half the authors each (the demo's 2 questions per author likewise); the scored items are matched to the
    evaluation's rows by their question (`forgetNN_perturbed` lists the same rows in the same order, checked);
  - `relearn-retain`: the benign variant, the same budget on retain-stream items only (as many as half the forget
    stream); every forget item is scored.
Budget: `max(MIN_STEPS, ceil(unlearning steps / 10))` optimiser steps, a tenth of what the unlearning spent, of the
run's unlearning batch size and seed, at the learning rate that taught the knowledge (the target fine-tune's), no
warm-up. Every language-model weight trains (the vision tower stays frozen, as in unlearning): the attacker holds
the merged weights and is not bound to the unlearner's LoRA adapters. On the demo, LoRA r=8 relearning at this
budget moved the held-out forget probability of an NPO run by 0.017 of the target-gold gap, full fine-tuning by
0.22; and a method's LoRA learning rate is not one for all weights (SCRUB's 5e-3 and RMU's 1e-2 took the retain
metric from 0.8 to 0.1 in 4 steps). A bf16 / fp16 model relearns, and is scored, in float32. The same budget on
the gold model, which never saw the forget persons, is the reference row: relearning that also teaches gold the
held-out persons is generalisation, not recovery. Training is `training.loop.train`, as for fine-tuning and
unlearning.
"""
from __future__ import annotations

import math
import random

from .base import Attack, register

MIN_STEPS = 4
STEPS_FRACTION = 10  # a tenth of the unlearning steps (issue 23's budget)


def budget(unlearn_steps: int) -> int:
    """Relearning steps for an unlearning that took `unlearn_steps`."""
    return max(MIN_STEPS, math.ceil(int(unlearn_steps or 0) / STEPS_FRACTION))


def _stream(ctx, which: str) -> list:
    """The run's forget stream (its modality's items) or retain stream, as training samples."""
    from ..data.convert import training_samples
    from ..data.schema import forget_configs
    from ..training.unlearn import select_forget

    names = forget_configs(ctx.identity["forget"])
    dataset, key = ctx.track.forget_data if which == "forget" else ctx.track.retain_data
    rows = training_samples(ctx.source.load(dataset, names[key]), ctx.source.name(dataset), names[key])
    return select_forget(rows, ctx.identity["modality"]) if which == "forget" else rows


ROW = "row "  # the label of an authorless TOFU row (`person_of`)


def person_of(sample) -> str | None:
    """A forget sample's person; for an authorless TOFU row (the text track) its row label, "row 3"."""
    if sample.person:
        return sample.person
    return None if sample.has_image else ROW + sample.item_id.rsplit("/", 1)[-1]


def _split_rows(ctx, forget: list) -> tuple[list[str], list[str]]:
    """The text track's split by position (module docstring), checked against the evaluation's rows."""
    from ..data.schema import forget_configs
    from ..errors import ClearBenchError

    if len(forget) < 2:
        raise ClearBenchError(f"relearn-forget needs at least 2 forget questions to relearn on some and score the "
                              f"others; the run's forget stream has {len(forget)}")
    config = forget_configs(ctx.identity["forget"])["forget_perturbed"]
    rows = ctx.source.load("tofu", config)
    for s in forget:
        i = int(s.item_id.rsplit("/", 1)[-1])
        if i >= len(rows) or rows[i]["question"] != s.question:
            raise ClearBenchError(f"relearn-forget: TOFU '{config}' row {i} is not the forget stream's row {i} "
                                  f"({s.item_id}); the text track splits the authorless forget set by row")
    labels = [person_of(s) for s in forget]
    half = len(labels) // 2
    return labels[:half], labels[half:]


def split_persons(ctx) -> tuple[list[str], list[str]]:
    """(relearned, scored): the forget persons in a seeded draw, the first half (at least one) relearned; on the
    text track, authorless TOFU rows: the first half of the rows and the second (`_split_rows`)."""
    from ..errors import ClearBenchError
    from ..utils import derive_seed

    forget = _stream(ctx, "forget")
    if ctx.track.name == "text" and not any(s.person for s in forget):
        return _split_rows(ctx, forget)
    persons = sorted({s.person for s in forget if s.person})
    if len(persons) < 2:
        raise ClearBenchError(f"relearn-forget needs at least 2 forget persons to relearn on some and score the "
                              f"others; the run's forget stream has {len(persons)}")
    random.Random(derive_seed(ctx.identity["seed"], "relearn-split")).shuffle(persons)
    half = max(1, len(persons) // 2)
    return sorted(persons[:half]), sorted(persons[half:])


class Relearn(Attack):
    """A few steps of fine-tuning of the unlearned model (module docstring)."""

    tracks = ("multimodal", "text")
    paper = "Hu et al. 2024, 'Jogging the memory of unlearned LLMs through targeted relearning attacks'"

    def __init__(self, on: str):
        self.on = on
        self.name = f"relearn-{on}"
        # visual: relearning half of each split model's unlearned identities, in visual/robustness.py
        self.tracks = ("multimodal", "text", "visual") if on == "forget" else ("multimodal", "text")
        self._info = {}

    @property
    def doc(self) -> str:
        if self.on == "forget":
            return ("Fine-tuning on half the forget persons' items for a tenth of the unlearning steps (at least "
                    f"{MIN_STEPS}), scored on the other half's. {self.paper}.")
        return (f"The benign variant: the same budget on retain items only, every forget item scored. {self.paper}.")

    def settings(self) -> dict:
        return {"on": self.on, "min_steps": MIN_STEPS, "steps_fraction": STEPS_FRACTION}

    def recipe(self, ctx) -> dict:
        u, target = ctx.identity["unlearn"], ctx.identity["finetune"][0]  # [target recipe, gold recipe]
        return {"steps": budget(ctx.manifest.get("run", {}).get("unlearn_steps")), "lr": target["train"]["lr"],
                "batch_size": u["train"]["batch_size"], "seed": ctx.identity["seed"], "trains": "language model"}

    def samples(self, ctx) -> list:
        from ..utils import derive_seed

        forget = _stream(ctx, "forget")
        if self.on == "forget":
            relearned = set(split_persons(ctx)[0])
            return [s for s in forget if person_of(s) in relearned]
        retain = _stream(ctx, "retain")  # as many retain items as half the forget stream
        rng = random.Random(derive_seed(ctx.identity["seed"], "relearn-retain"))
        return rng.sample(retain, min(len(retain), max(1, len(forget) // 2)))

    def gold_key(self, ctx) -> dict:
        return {"recipe": self.recipe(ctx), "items": [s.item_id for s in self.samples(ctx)]}

    def scored_persons(self, ctx):
        return set(split_persons(ctx)[1]) if self.on == "forget" else None

    def keeps(self, record, persons):
        """A forget record of a scored person, or (an authorless TOFU row) of a scored row."""
        return record.person in persons or (record.person is None and ROW + str(record.extra.get("row")) in persons)

    def apply(self, model, processor, ctx):
        import torch

        from ..data.collator import Collator
        from ..models.lora import freeze_vision
        from ..training.loop import TrainConfig, make_accelerator, train
        from ..utils import seed_everything

        r = self.recipe(ctx)
        samples = self.samples(ctx)
        seed_everything(r["seed"])
        accelerator = make_accelerator(1)
        dtype = next(model.parameters()).dtype
        if dtype in (torch.bfloat16, torch.float16):
            # an AdamW step of lr 1e-5 is below half a bf16 step of a weight of 0.02 (1.2e-4): it would round away.
            # Relearn, and score, in float32 (the gold row gets the same treatment)
            model = model.float()
        model.requires_grad_(True)  # a merged peft model comes back frozen
        freeze_vision(model)
        per_epoch = math.ceil(len(samples) / r["batch_size"] / max(1, accelerator.num_processes))
        config = TrainConfig(epochs=r["steps"] / per_epoch, lr=r["lr"], batch_size=r["batch_size"], warmup_epochs=0.0,
                             weight_decay=0.0, seed=r["seed"])
        result = train(model, samples, Collator(processor, answer_logits_only=True), config, accelerator=accelerator,
                       desc=f"{self.name} ({ctx.which})")
        model = accelerator.unwrap_model(model)
        model.requires_grad_(False)
        self._info = {**r, "items": len(samples), "steps_taken": result.steps,
                      "dtype": str(next(model.parameters()).dtype).replace("torch.", ""),
                      "final_loss": round(result.losses[-1], 4) if result.losses else None}
        if self.on == "forget":
            self._info["relearned_persons"], self._info["scored_persons"] = split_persons(ctx)
        return model.eval()


register(Relearn("forget"))
register(Relearn("retain"))
