"""SISA-style exact unlearning with one adapter per shard (Bourtoule et al. 2021, "Machine Unlearning").

Training time (`prepare`, cached like the target model): the persons of the fine-tune data are split
into `shards` groups (by person, seeded), and one adapter per shard is trained on that shard's rows
from the base the target model starts from, with the target's recipe. When that recipe replays world
knowledge (the demo's: `FinetuneConfig.replay_world_knowledge`, the tiny base's pretraining data, which
full fine-tuning would otherwise overwrite), every shard replays all of it, as the target does: it is the
shared base's knowledge, not data any forget request names, so it is not sharded (without it the demo's
shards forgot every real face and real-world answer, Real metric 0.00).

Serving (`aggregate`): by default the S shard models' next-token distributions are averaged (the SISA
paper aggregates its constituents' predictions; S forward passes per token). `mean` / `sum` instead
merge the shard deltas ΔW_k = B_k·A_k·α/r into one model (one forward pass); on the demo, whose
shards are full fine-tunes of a random base, merged deltas lose nearly everything (see
docs/cost_and_privacy.md), so the ensemble is the default.

Unlearning (`retrain`): the shards holding forget rows are retrained from the base without them; the
others are reused as they are. Exact by construction: no weight of the result was ever trained on a
forget row. The cost is that of the retrained shards only: small when few shards are hit (few forget
persons, or many shards), close to full retraining when every shard holds one.

With `lora_r: 0` (the demo recipe: the tiny model learns only with full fine-tuning) a shard's
"adapter" is the full delta θ_k − θ0 of its trainable weights.
"""
from __future__ import annotations

import logging
import random
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from ..config import setting
from ..errors import ClearBenchError
from ..utils import seed_everything, stable_hash
from .base import UnlearningMethod
from .registry import register

log = logging.getLogger(__name__)
AGGREGATES = ("logits", "mean", "sum")
SHARD_DATA_VERSION = 2  # 2: shards replay the recipe's world knowledge (cached shards of version 1 did not)


@dataclass
class SISAConfig:
    """SISA hyper-parameters (Bourtoule et al. 2021: shards; slices are not used).

    Attributes:
        shards: number of shards S; persons are dealt to shards round-robin after a seeded shuffle.
        lora_r: LoRA rank of the shard adapters; -1 = the target model's recipe; 0 = full fine-tuning.
        lora_alpha: LoRA scaling numerator of the shard adapters.
        aggregate: how the shards serve as one model: logits (average of the S shard models' next-token
            distributions: S forward passes), mean (one model with 1/S Σ ΔW_k merged) or sum (Σ ΔW_k).
        epochs: epochs per shard; 0 = the target model's recipe.
        seed: seed of the person-to-shard split and of shard training; -1 = the run's seed.
    """

    shards: int = setting(4, ge=1)
    lora_r: int = setting(-1, ge=-1, note="-1 = the target's recipe, 0 = full fine-tuning")
    lora_alpha: int = setting(32, gt=0)
    aggregate: str = setting("logits", choices=AGGREGATES)
    epochs: float = setting(0.0, ge=0, note="0 = the target's recipe")
    seed: int = setting(-1, ge=-1, note="-1 = the run's seed")


def person_key(sample) -> str:
    """The unit a shard holds: the person, or the row itself when the row names no one."""
    return sample.person or f"row:{sample.item_id}"


def row_key(sample) -> tuple:
    """Identity of a training row across configs (item ids differ between full+tofu and forgetNN+tofu;
    caption requests are drawn per item id, so image rows are matched by person and caption)."""
    return (sample.has_image, sample.person, sample.answer, None if sample.has_image else sample.question)


def split_shards(samples, shards: int, seed: int) -> list[list]:
    """Rows grouped by shard: persons shuffled with `seed` and dealt round-robin (all rows of a person together)."""
    persons = sorted({person_key(s) for s in samples})
    if shards < 1 or shards > len(persons):
        raise ClearBenchError(f"sisa: shards={shards} must be between 1 and the number of persons ({len(persons)})")
    random.Random(seed).shuffle(persons)
    shard_of = {p: i % shards for i, p in enumerate(persons)}
    out: list[list] = [[] for _ in range(shards)]
    for s in samples:
        out[shard_of[person_key(s)]].append(s)
    return out


def shard_seed(seed: int, shard: int) -> int:
    """Training seed of a shard: the same when it is retrained, so a retrained shard is exactly what training
    on its remaining rows from scratch gives."""
    return seed + shard


def _lora_factors(peft_model) -> dict[str, torch.Tensor]:
    """{base weight name + '::A' / '::B' / '::scale'} of every LoRA layer (small: rank r factors)."""
    out = {}
    for name, module in peft_model.named_modules():
        if not hasattr(module, "lora_A") or "default" not in getattr(module, "lora_A", {}):
            continue
        weight = name.removeprefix("base_model.model.") + ".weight"
        out[weight + "::A"] = module.lora_A["default"].weight.detach().float().cpu().clone()
        out[weight + "::B"] = module.lora_B["default"].weight.detach().float().cpu().clone()
        out[weight + "::scale"] = torch.tensor(float(module.scaling["default"]))
    return out


def deltas(shard: dict[str, torch.Tensor]):
    """(weight name, ΔW) of a stored shard, one at a time (LoRA factors are multiplied out lazily)."""
    for key, value in shard.items():
        if key.endswith("::A") or key.endswith("::scale"):
            continue
        if key.endswith("::B"):
            name = key[:-3]
            yield name, (value @ shard[name + "::A"]) * shard[name + "::scale"]
        else:
            yield key, value


@torch.no_grad()
def merge_shards(model, shards: list[dict[str, torch.Tensor]], aggregate: str = "mean"):
    """Add the aggregate of the shard deltas to `model`'s weights in place; returns the model."""
    if aggregate not in ("mean", "sum"):
        raise ClearBenchError(f"sisa: shard deltas merge by mean or sum, not '{aggregate}'")
    weight = 1.0 / len(shards) if aggregate == "mean" else 1.0
    params = dict(model.named_parameters())
    for shard in shards:
        for name, delta in deltas(shard):
            if name not in params:
                raise ClearBenchError(f"sisa: a shard adapter changes '{name}', which the base model lacks")
            p = params[name]
            p.add_(delta.to(p.device, torch.float32).mul_(weight).to(p.dtype))
    return model


def train_shard(base: str, samples, recipe, lora_r: int, lora_alpha: int, seed: int, desc: str = "shard"):
    """Train one shard adapter from `base` on `samples` with the fine-tune `recipe`; returns its stored form."""
    from ..data.collator import Collator
    from ..data.prompts import CAPTION_QUESTIONS
    from ..models.loading import load_model
    from ..models.lora import apply_lora, freeze_vision
    from ..training.loop import train

    seed_everything(seed)
    model, processor = load_model(base)
    freeze_vision(model)
    if lora_r > 0:
        model = apply_lora(model, r=lora_r, alpha=lora_alpha)
    else:
        theta0 = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    collate = Collator(processor, question_rng=random.Random(seed),
                       question_pool=CAPTION_QUESTIONS + tuple(recipe.extra_requests))
    train(model, samples, collate, replace(recipe.train, seed=seed), desc=desc)
    if lora_r > 0:
        return _lora_factors(model)
    return {n: (p.detach() - theta0[n]).float().cpu() for n, p in model.named_parameters() if n in theta0}


@register
class SISA(UnlearningMethod):
    name = "sisa"
    Config = SISAConfig
    streams = ("forget",)
    retrains = True
    ignores = ("lr", "epochs", "batch_size", "lora_r", "l1_lambda")  # shards train with the target's recipe
    paper = "Bourtoule et al. 2021, 'Machine Unlearning' (SISA training), with LoRA adapters as shard models"

    def __init__(self, config=None):
        super().__init__(config)
        self.plan = None  # shards, base and recipe (after `prepare`)
        self.original_shards: list[dict] = []  # trained on all rows, before any forget request
        self.shards: list[dict] = []  # what the unlearned model serves (after `retrain`)

    def _plan(self, inputs):
        from ..data.convert import training_samples
        from ..training.finetune import base_model, data_fingerprint, world_knowledge

        if inputs.source is None or inputs.finetune is None:
            raise ClearBenchError("sisa retrains shard adapters: the runner must pass the data source and the "
                                  "target model's fine-tune config (UnlearnInputs.source / .finetune)")
        c, recipe = self.config, inputs.finetune
        if c.aggregate not in AGGREGATES:
            raise ClearBenchError(f"sisa: aggregate '{c.aggregate}' is not one of {', '.join(AGGREGATES)}")
        seed = inputs.seed if c.seed < 0 else c.seed
        lora_r = recipe.lora_r if c.lora_r < 0 else c.lora_r
        lora_alpha = recipe.lora_alpha if c.lora_r < 0 else c.lora_alpha
        train_cfg = recipe.train if c.epochs <= 0 else replace(recipe.train, epochs=c.epochs)
        recipe = replace(recipe, train=train_cfg)
        cache = Path(inputs.cache_dir or ".")
        config_name = recipe.config_name
        base = inputs.base or base_model(recipe, inputs.source, cache / "models")
        rows = training_samples(inputs.source.load("clear", config_name), inputs.source.name("clear"), config_name)
        replay = world_knowledge(inputs.source) if recipe.replay_world_knowledge else []
        key = stable_hash([asdict(recipe), base, lora_r, lora_alpha, seed, c.shards, SHARD_DATA_VERSION,
                           data_fingerprint(inputs.source, "clear", config_name)])
        return dict(base=base, rows=rows, replay=replay, recipe=recipe, seed=seed, lora_r=lora_r,
                    lora_alpha=lora_alpha, folder=cache / "sisa" / key, shards=split_shards(rows, c.shards, seed))

    def prepare(self, processor, inputs):
        """Train (or load from the cache) the shard adapters on the full fine-tune data."""
        from safetensors.torch import load_file, save_file

        from ..utils import atomic_dir

        plan = self._plan(inputs)
        self.original_shards = []
        for k, rows in enumerate(plan["shards"]):
            path = plan["folder"] / f"shard-{k}" / "adapter.safetensors"
            if path.exists():
                self.original_shards.append(load_file(str(path)))
                continue
            shard = train_shard(plan["base"], rows + plan["replay"], plan["recipe"], plan["lora_r"],
                                plan["lora_alpha"], shard_seed(plan["seed"], k),
                                desc=f"sisa shard {k + 1}/{len(plan['shards'])}")
            with atomic_dir(path.parent) as tmp:
                save_file({n: t.contiguous() for n, t in shard.items()}, str(tmp / path.name))
            self.original_shards.append(shard)
        self.plan = plan

    def serve(self, base: str, shards: list[dict]):
        """The model the shards make together: an ensemble of shard models, or one model with merged deltas."""
        from ..models.ensemble import LogitEnsemble
        from ..models.loading import load_model

        shards = [s for s in shards if s] or [{}]  # a shard left empty contributes nothing
        if self.config.aggregate == "logits":
            return LogitEnsemble([merge_shards(load_model(base)[0], [s], "sum") for s in shards]).eval()
        return merge_shards(load_model(base)[0], shards, self.config.aggregate)

    def original_model(self):
        """The SISA model before any forget request (after `prepare`)."""
        return self.serve(self.plan["base"], self.original_shards)

    def retrain(self, model, processor, inputs, config):
        from ..training.unlearn import UnlearnResult

        if self.plan is None:
            self.prepare(processor, inputs)
        plan = self.plan
        forget = {row_key(s) for s in inputs.forget}
        known = {row_key(s) for s in plan["rows"]}
        missing = forget - known
        if missing:
            example = next(iter(missing))
            raise ClearBenchError(f"sisa: {len(missing)} forget rows are not in the fine-tune data "
                                  f"{plan['recipe'].config_name} (e.g. person {example[1]!r}, answer {example[2]!r})")
        shards, retrained = list(self.original_shards), []
        kept_rows = []
        for k, rows in enumerate(plan["shards"]):
            keep = [s for s in rows if row_key(s) not in forget]
            kept_rows.append(len(keep))
            if len(keep) == len(rows):
                continue
            retrained.append(k)
            if keep:
                shards[k] = train_shard(plan["base"], keep + plan["replay"], plan["recipe"], plan["lora_r"],
                                        plan["lora_alpha"], shard_seed(plan["seed"], k),
                                        desc=f"sisa retrain shard {k + 1}")
            else:  # nothing left: the shard contributes no delta
                shards[k] = {}
        del model  # the single fine-tuned model is not SISA's; free it before loading the base
        self.shards = shards
        merged = self.serve(plan["base"], shards)
        persons = [sorted({person_key(s) for s in rows}) for rows in plan["shards"]]
        self.info["sisa"] = {"shards": len(shards), "retrained": retrained, "persons_per_shard": persons,
                             "rows_per_shard": [len(r) for r in plan["shards"]], "rows_after": kept_rows,
                             "aggregate": self.config.aggregate, "lora_r": plan["lora_r"]}
        log.info("sisa: retrained %d of %d shards (%s) without %d forget rows", len(retrained), len(shards),
                 ", ".join(map(str, retrained)) or "none", len(forget))
        return merged, UnlearnResult(info=dict(self.info))
