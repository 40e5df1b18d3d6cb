"""Fine-tune the text track's target (TOFU `full`) and gold (`retain90/95/99`) causal LMs.

Same loop, collator, checkpoints (resume after a kill), manifest and reuse rules as the multimodal
fine-tuning (`training/finetune.py`); only the data (TOFU QA, no images) and the model class differ.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..efficiency import measure
from ..errors import ClearBenchError
from ..training.finetune import MANIFEST, already_trained, data_fingerprint, save_finetuned
from ..training.loop import TrainConfig, make_accelerator, train
from ..utils import atomic_dir, check_replaceable, check_writable, seed_everything, stable_hash
from .models import TINY_TEXT_MODELS

log = logging.getLogger(__name__)
WORLD_CONFIGS = ("real_authors_perturbed", "world_facts_perturbed")
TINY_BASE_VERSION = 1  # bump when the tiny base's construction changes


@dataclass
class TextFinetuneConfig:
    """What to fine-tune, on which TOFU split, with which recipe.

    Attributes:
        model: Hub id or folder of a causal LM, or "tiny" (a random tiny Llama with a tokenizer trained on
            the data's text, offline).
        split: "full" trains the target model; "retain90" / "retain95" / "retain99" a gold model.
        lora_r: LoRA rank; 0 means full fine-tuning (what the tiny model needs to memorise).
        lora_alpha: LoRA scaling numerator (paper: 32).
        lora_dropout: LoRA dropout (paper: 0).
        train: optimisation settings.
        trust_remote_code: let transformers run code shipped with the model (off by default).
        replay_world_knowledge: add TOFU's real-authors and world-facts questions to the training data (the
            demo: a random tiny model has no prior knowledge for the Real metric to measure).
    """

    model: str = "meta-llama/Llama-2-7b-chat-hf"
    split: str = "full"
    lora_r: int = 8
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    train: TrainConfig = field(default_factory=TrainConfig)
    trust_remote_code: bool = False
    replay_world_knowledge: bool = False

    def __post_init__(self):
        if self.split != "full" and self.split not in ("retain90", "retain95", "retain99"):
            raise ClearBenchError(f"fine-tune split '{self.split}' must be 'full' or retain90/retain95/retain99")


def text_corpus(source) -> list[str]:
    """All TOFU text the tiny tokenizer is trained on (holdout persons stay unseen, as for the tiny VLM)."""
    from ..data.schema import OPTIONAL_CONFIGS, TOFU_SCHEMAS

    texts = []
    for config, schema in TOFU_SCHEMAS.items():
        if config in OPTIONAL_CONFIGS or config.startswith("forget0") or config.startswith("retain9"):
            continue  # subsets of full / retain_perturbed
        ds = source.load("tofu", config)
        for col in {**schema.required, **schema.optional}:
            if col in ds.column_names:
                for v in ds[col]:
                    texts.extend(v if isinstance(v, list) else [v] if v else [])
    return texts


def tiny_text_base(source, cache_dir: Path, seed: int = 0, name: str = "tiny") -> Path:
    """The random tiny causal LM of a data source with its tokenizer, built once and cached (target and gold
    share it: same tokenizer, same initial weights)."""
    from .models import save_model

    parts = [data_fingerprint(source, "tofu", c) for c in ("full", "retain_perturbed", *WORLD_CONFIGS)]
    out = Path(cache_dir) / f"text-{name}-base-{stable_hash(parts + [seed, TINY_BASE_VERSION])}"
    if (out / "config.json").exists():
        return out
    model, tok = TINY_TEXT_MODELS[name](text_corpus(source), seed=seed)
    with atomic_dir(out) as tmp:
        save_model(model, tok, tmp)
    return out


def text_base_model(config: TextFinetuneConfig, source, cache_dir) -> str:
    """The model fine-tuning starts from: the Hub id or folder, or the cached tiny base of `source`."""
    if config.model in TINY_TEXT_MODELS:
        return str(tiny_text_base(source, Path(cache_dir), config.train.seed, config.model))
    return config.model


def world_samples(source) -> list:
    """TOFU's real-authors and world-facts questions with their answers, as training samples."""
    from ..data.convert import training_samples

    return [s for c in WORLD_CONFIGS for s in training_samples(source.load("tofu", c), source.name("tofu"), c)]


def text_training_samples(source, config: TextFinetuneConfig) -> list:
    from ..data.convert import training_samples

    rows = training_samples(source.load("tofu", config.split), source.name("tofu"), config.split)
    return rows + world_samples(source) if config.replay_world_knowledge else rows


def finetune_text(config: TextFinetuneConfig, source, out: str | Path, cache_dir: str | Path | None = None,
                  accelerator=None) -> Path:
    """Fine-tune and save to `out`; reuse `out` if it already holds a model made from the same inputs."""
    from ..data.collator import Collator
    from ..models.lora import apply_lora
    from .models import load_causal_lm

    out = check_replaceable(check_writable(out), MANIFEST)
    cache_dir = Path(cache_dir or out.parent)
    samples = text_training_samples(source, config)  # a malformed split fails before anything is trained
    base = text_base_model(config, source, cache_dir)
    data_fp = stable_hash([data_fingerprint(source, "tofu", c) for c in
                           (config.split, *(WORLD_CONFIGS if config.replay_world_knowledge else ()))])
    fingerprint = stable_hash({"config": asdict(config), "base": base, "data": data_fp, "track": "text"})
    if already_trained(out, fingerprint):
        return out

    accelerator = accelerator or make_accelerator(config.train.grad_accum)
    seed_everything(config.train.seed)
    model, tok = load_causal_lm(base, device=str(accelerator.device), trust_remote_code=config.trust_remote_code)
    if config.lora_r > 0:
        model = apply_lora(model, r=config.lora_r, alpha=config.lora_alpha, dropout=config.lora_dropout)
    ckpt = out.parent / f".{out.name}.checkpoint-{fingerprint}"  # a killed run resumes from its last epoch
    with measure() as clock:
        result = train(model, samples, Collator(tok, answer_logits_only=True), config.train, accelerator=accelerator,
                       desc=f"fine-tune tofu {config.split}", checkpoint_dir=ckpt)
    model = accelerator.unwrap_model(model)
    if config.lora_r > 0:
        model = model.merge_and_unload()
    save_finetuned(model, tok, out, accelerator, ckpt, {
        "fingerprint": fingerprint, "config": asdict(config), "track": "text", "base_model": base,
        "data_config": f"tofu:{config.split}", "data_source": source.name("tofu"), "data_fingerprint": data_fp,
        "samples": len(samples), "steps": result.steps, "final_loss": result.losses[-1],
        "train_seconds": round(result.seconds, 2), "train_cost": clock.cost.to_dict()})
    return out


def finetune_recipe(preset, split: str, model: str | None = None, trust_remote_code: bool = False
                    ) -> TextFinetuneConfig:
    """The preset's fine-tuning recipe on `split` (full: the target model; retainNN: the gold model)."""
    return TextFinetuneConfig(model=model or preset.model, split=split, lora_r=preset.lora_r,
                              lora_alpha=preset.lora_alpha, train=preset.finetune,
                              replay_world_knowledge=preset.replay_world_knowledge,
                              trust_remote_code=trust_remote_code)


def cached_text_finetune(preset, source, split: str, model: str | None = None, trust_remote_code: bool = False
                         ) -> Path:
    """The fine-tuned model folder of (recipe, data) in the cache; trained on first use."""
    from ..presets import cache_dir

    fc = finetune_recipe(preset, split, model, trust_remote_code)
    key = stable_hash([asdict(fc), source.tofu])
    models = cache_dir() / "models"
    return finetune_text(fc, source, models / f"text-{split}-{key}", cache_dir=models)
