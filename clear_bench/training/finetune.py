"""`clear-bench finetune`: train the target model on `full+tofu` and the gold model on `retainNN+tofu`.

The result is a plain Hugging Face model folder (LoRA merged) with a `clear_manifest.json`
recording config, data fingerprint, library versions, seed, the machine (CPU / GPU model, threads) and a
SHA-256 of the saved weights. A second call with the same
inputs finds the manifest and reuses the model. Written to a temporary folder and renamed, so an
error never leaves a half-written model behind.
"""
from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from ..efficiency import measure
from ..errors import ClearBenchError
from ..models.tiny import TINY_MODELS
from ..utils import (TOOL, atomic_dir, atomic_write_json, check_replaceable, check_writable, hardware,
                     library_versions, seed_everything, stable_hash, weights_checksum)
from .loop import TrainConfig, make_accelerator, train

log = logging.getLogger(__name__)
MANIFEST = "clear_manifest.json"
TINY = "tiny"


@dataclass
class FinetuneConfig:
    """What to fine-tune, on which split, with which recipe (defaults: the paper's,
    App. H; the reference's `mm/finetune.py` at github.com/somvy/multimodal_unlearning).

    Attributes:
        model: Hub id or folder of an image-text-to-text model, or "tiny" ("tiny-qwen2vl") for the
            offline tiny LLaVA (Qwen2-VL) built from the data's own text.
        split: "full" trains the target model on `full+tofu`; "retain90" / "retain95" / "retain99"
            trains a gold model on `retainNN+tofu`.
        lora_r: LoRA rank; 0 means full fine-tuning (what the tiny model needs to memorise).
        lora_alpha: LoRA scaling numerator (paper: 32).
        lora_dropout: LoRA dropout (paper: 0).
        train: optimisation settings.
        trust_remote_code: let transformers run code shipped with the model (off by default).
        extra_requests: prompts added to the nine caption requests drawn during training. The demo uses
            the face-name prompt: the tiny model has no language prior to carry a caption-trained
            face-name association over to an unseen prompt, which a pretrained VLM does.
        replay_world_knowledge: mix the tiny model's pretraining data (real faces, real-world questions) into
            fine-tuning. Full fine-tuning of a 4M-parameter model otherwise overwrites all prior knowledge,
            which LoRA on a billion-parameter VLM does not; the demo replays it so that the Real metric and
            Model Utility measure something.
    """

    model: str = "Qwen/Qwen2-VL-2B-Instruct"
    split: str = "full"
    lora_r: int = 8
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    train: TrainConfig = field(default_factory=TrainConfig)
    trust_remote_code: bool = False
    extra_requests: tuple[str, ...] = ()
    replay_world_knowledge: bool = False

    @property
    def config_name(self) -> str:
        if self.split != "full" and not self.split.startswith("retain"):
            raise ClearBenchError(f"fine-tune split '{self.split}' must be 'full' or retain90/retain95/retain99")
        return f"{self.split}+tofu"


def data_fingerprint(source, dataset: str, config: str) -> str:
    """Content hash of a local config's parquet files, or the `datasets` fingerprint of a Hub config."""
    root = Path(source.name(dataset))
    if root.is_dir():
        folder = root / config if (root / config).is_dir() else root / "data"
        files = sorted(folder.rglob("*.parquet")) or sorted(folder.rglob("*.arrow"))
        return _files_hash(tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files))
    return stable_hash([source.name(dataset), config, source.load(dataset, config)._fingerprint])


@lru_cache(maxsize=256)
def _files_hash(files: tuple[tuple[str, int, int], ...]) -> str:
    """Hash of the files' contents, computed once per process for unchanged files (keyed by path, size and
    modification time): a job fingerprints the same configs for its identity, its fine-tunes and its record."""
    from ..utils import file_sha256

    return stable_hash([(Path(f).name, file_sha256(f)) for f, _, _ in files])


def corpus_configs(datasets=("clear", "tofu")) -> list[tuple[str, str]]:
    """The (dataset, config) pairs a tiny model's tokenizer is trained on: every required config but the subsets
    of full / retain_perturbed (forget0*, retain9*); holdout persons stay unseen by design. The tiny base's cache
    key covers exactly these, so a changed config is read (and validated) again."""
    from ..data.schema import CLEAR_SCHEMAS, OPTIONAL_CONFIGS, TOFU_SCHEMAS

    tables = {"clear": CLEAR_SCHEMAS, "tofu": TOFU_SCHEMAS}
    return [(d, c) for d in datasets for c in tables[d]
            if c not in OPTIONAL_CONFIGS and not c.startswith("forget0") and not c.startswith("retain9")]


def corpus_text(source, configs) -> list[str]:
    """All text columns of `configs` ((dataset, config) pairs) of a data source, lists flattened."""
    from ..data.schema import schema_for

    texts = []
    for dataset, config in configs:
        schema = schema_for(dataset, config)
        ds = source.load(dataset, config)
        for col, kind in {**schema.required, **schema.optional}.items():
            if col not in ds.column_names or kind == "image":
                continue
            for v in ds[col]:
                if isinstance(v, list):
                    texts.extend(v)
                elif v:
                    texts.append(v)
    return texts


def corpus_of(source) -> list[str]:
    """All text of a data source: what the tiny model's tokenizer is trained on."""
    from ..data.prompts import CAPTION_QUESTIONS, NAME_PROMPT

    return list(CAPTION_QUESTIONS) + [NAME_PROMPT] + corpus_text(source, corpus_configs())


TINY_PRETRAIN = TrainConfig(epochs=60, lr=1e-3, batch_size=10, weight_decay=0.0, warmup_epochs=1.0)


def world_knowledge(source) -> list:
    """What a pretrained VLM knows before it meets CLEAR: the real faces' names and the real-world answers."""
    from ..data.convert import to_rgb
    from ..data.prompts import NAME_PROMPT
    from ..data.sample import Sample

    out = []
    for i, row in enumerate(source.load("clear", "real_faces")):
        out.append(Sample(f"real_faces/{i}", NAME_PROMPT, row["answer"], image=to_rgb(row["image"], "real_faces")))
    for i, row in enumerate(source.load("clear", "real_world")):
        out.append(Sample(f"real_world/{i}", row["question"], row["answer"], image=to_rgb(row["image"], "real_world")))
    return out


def tiny_base_key(source, seed: int = 0, name: str = TINY) -> str:
    """The tiny base's cache key: the content of every config its tokenizer and pretraining read, the seed and
    the pretraining settings (a key over fewer configs let a changed `retain_perturbed` go unread and unchecked
    once a base was cached: tests/test_bad_input.py::test_tiny_base_key_covers_every_config_it_reads)."""
    parts = [data_fingerprint(source, d, c) for d, c in corpus_configs()] + [seed, asdict(TINY_PRETRAIN)]
    return stable_hash(parts if name == TINY else parts + [name])


def tiny_base(source, cache_dir: Path, seed: int = 0, name: str = TINY) -> Path:
    """The tiny offline base model for a data source, built once and cached (same tokenizer for target and gold).

    A random tiny VLM knows nothing, so its "pretraining" teaches it the real faces and the real-world
    questions: the Real metric and Model Utility then measure, as on a real VLM, how much of that
    prior knowledge fine-tuning and unlearning keep.
    """
    from ..data.collator import Collator
    from ..models.tiny import save_tiny_vlm

    out = Path(cache_dir) / f"{name}-base-{tiny_base_key(source, seed, name)}"
    # Under `accelerate launch` every process takes part (the pretraining is itself distributed): all look
    # for the cached base before anyone writes it, all train, the main process saves.
    from accelerate import PartialState

    state = PartialState()
    exists = (out / "config.json").exists()
    state.wait_for_everyone()
    if exists:
        return out
    model, processor = TINY_MODELS[name](corpus_of(source), seed=seed)
    train(model, world_knowledge(source), Collator(processor, answer_logits_only=True), TINY_PRETRAIN,
          desc="tiny model pretraining")
    if state.is_main_process:
        with atomic_dir(out) as tmp:
            save_tiny_vlm(model, processor, tmp)
    state.wait_for_everyone()
    return out


def base_model(config: FinetuneConfig, source, cache_dir: str | Path, family: str = "vlm") -> str:
    """The model fine-tuning starts from: the Hub id or folder, or the cached tiny base of `source`."""
    from .families import FAMILIES

    fam = FAMILIES.get(family)
    if config.model in fam.tiny:
        return str(fam.build_tiny(source, Path(cache_dir), config.train.seed, config.model))
    return config.model


def training_cost(model_dir: str | Path):
    """The `Cost` of fine-tuning a model folder, from its manifest (None without one).

    Manifests written before CPU time was recorded give wall seconds only."""
    from ..efficiency import Cost

    try:
        manifest = json.loads((Path(model_dir) / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if "train_cost" in manifest:
        return Cost.from_dict(manifest["train_cost"])
    return Cost(float(manifest["train_seconds"])) if "train_seconds" in manifest else None


MODEL_CARD = Path(__file__).resolve().parents[1] / "resources" / "cards" / "model_card.md"  # -> cards/


def model_card(manifest: dict) -> str | None:
    """The model card from `cards/model_card.md` (None when the template is not there)."""
    from string import Template

    if not MODEL_CARD.exists():
        return None
    cfg = manifest["config"]
    target = cfg["split"] == "full"
    t = cfg["train"]
    recipe = (f"{'LoRA r ' + str(cfg['lora_r']) + ', alpha ' + str(cfg['lora_alpha']) if cfg['lora_r'] else 'full fine-tuning'}, "
              f"lr {t['lr']}, {t['epochs']} epochs, batch {t['batch_size']}, weight decay {t['weight_decay']}, "
              f"warm-up {t['warmup_epochs']} epoch(s), seed {t['seed']}")
    return Template(MODEL_CARD.read_text()).safe_substitute(
        title=f"CLEAR {'target' if target else 'gold'} model ({manifest['data_config']})",
        role="target" if target else "gold (retain-only)", data_config=manifest["data_config"],
        data_source=manifest["data_source"], base_model=manifest["base_model"], recipe=recipe,
        samples=manifest["samples"], steps=manifest["steps"], final_loss=f"{manifest['final_loss']:.4f}",
        data_fingerprint=manifest["data_fingerprint"], fingerprint=manifest["fingerprint"], split=cfg["split"],
        versions=", ".join(f"{k} {v}" for k, v in manifest["versions"].items()),
        role_note=("It has memorised every person of the data and is the starting point of unlearning." if target else
                   "It never saw the forget persons: it is the reference for forget quality."))


def already_trained(out: Path, fingerprint: str) -> bool:
    """True when `out` holds a model fine-tuned from the inputs behind `fingerprint` (its manifest says so); a
    model from other inputs is logged and will be replaced."""
    manifest_path = Path(out) / MANIFEST
    if not manifest_path.exists():
        return False
    try:
        if json.loads(manifest_path.read_text()).get("fingerprint") == fingerprint:
            log.info("reusing fine-tuned model %s (same config and data)", out)
            return True
    except json.JSONDecodeError:
        pass
    log.info("%s holds a model from other inputs; it will be replaced", out)
    return False


def finetune(config: FinetuneConfig, source, out: str | Path, cache_dir: str | Path | None = None,
             accelerator=None, family: str = "vlm") -> Path:
    """Fine-tune a model of `family` (`training/families.py`) and save to `out`; reuse `out` if it already holds
    a model made from the same inputs. The tiny offline base it may start from is built in (and reused from)
    `cache_dir`, by default the clear-bench cache's models/ (as clear-eval does), never beside `out`."""
    from ..data.collator import Collator
    from ..models.lora import apply_lora, freeze_vision
    from .families import FAMILIES

    fam = FAMILIES.get(family)
    out = check_replaceable(check_writable(out), MANIFEST)  # before any training: never replace foreign files
    cfg_name = fam.config_of(config.split)
    if cache_dir is None:
        from ..data.demo import cache_dir as clear_bench_cache

        cache_dir = clear_bench_cache() / "models"
    cache_dir = Path(cache_dir)
    accelerator = accelerator or make_accelerator(config.train.grad_accum)
    # the tiny base is itself trained on the data: a malformed split must stop us before that
    samples = finetune_samples(fam, source, config) if config.model in fam.tiny else None
    base = base_model(config, source, cache_dir, family)
    data_fp = _data_fp(fam, source, cfg_name, config.replay_world_knowledge)
    fingerprint = stable_hash({"config": asdict(config), "base": base, "data": data_fp})
    if already_trained(out, fingerprint):
        return out

    seed_everything(config.train.seed)
    if samples is None:
        samples = finetune_samples(fam, source, config)
    model, processor = fam.load(base, device=str(accelerator.device), trust_remote_code=config.trust_remote_code)
    freeze_vision(model)
    if config.lora_r > 0:
        model = apply_lora(model, r=config.lora_r, alpha=config.lora_alpha, dropout=config.lora_dropout)
    ckpt = out.parent / f".{out.name}.checkpoint-{fingerprint}"  # a killed run resumes from its last epoch
    data_config = cfg_name if fam.dataset == "clear" else f"{fam.dataset}:{cfg_name}"
    with measure() as clock:
        result = train(model, samples, Collator(processor, answer_logits_only=True, **_requests(fam, config)),
                       config.train, accelerator=accelerator, desc=f"fine-tune {data_config}", checkpoint_dir=ckpt)
    model = accelerator.unwrap_model(model)
    if config.lora_r > 0:
        model = model.merge_and_unload()
    save_finetuned(model, processor, out, accelerator, ckpt, {
        "fingerprint": fingerprint, "config": asdict(config), "family": family, "base_model": base,
        "data_config": data_config,
        "data_source": source.name(fam.dataset), "data_fingerprint": data_fp, "samples": len(samples),
        "steps": result.steps, "final_loss": result.losses[-1], "train_seconds": round(result.seconds, 2),
        "train_cost": clock.cost.to_dict()})
    return out


def finetune_samples(fam, source, config: FinetuneConfig) -> list:
    """The fine-tune split of `config` as training samples, with the family's replay when the recipe asks."""
    from ..data.convert import training_samples

    cfg_name = fam.config_of(config.split)
    rows = training_samples(source.load(fam.dataset, cfg_name), source.name(fam.dataset), cfg_name)
    return rows + fam.replay(source) if config.replay_world_knowledge else rows


def _data_fp(fam, source, cfg_name: str, replay: bool) -> str:
    """The fine-tune data's fingerprint: the split's files (a VLM's: only them, as before families; its replay
    data is in its tiny base's key), and for other families the replayed configs' too."""
    split = data_fingerprint(source, fam.dataset, cfg_name)  # hashes the split's files: once
    if fam.name == "vlm":
        return split
    return stable_hash([split, *(data_fingerprint(source, d, c) for d, c in (fam.replay_configs if replay else ()))])


def _requests(fam, config: FinetuneConfig) -> dict:
    """A VLM's collator draws one of the caption requests (and the recipe's extra ones) per image row."""
    import random

    from ..data.prompts import CAPTION_QUESTIONS

    if not fam.caption_requests:
        return {}
    return {"question_rng": random.Random(config.train.seed),
            "question_pool": CAPTION_QUESTIONS + tuple(config.extra_requests)}


def save_finetuned(model, processor, out: Path, accelerator, checkpoint: Path, facts: dict) -> None:
    """Save a fine-tuned model (every track's) with its manifest: `facts` (fingerprint, config, data, training
    log) and what every manifest carries (tool, device and threads, hardware, library versions, the weights'
    SHA-256); then drop the resume checkpoint. Under `accelerate launch` the main process writes."""
    import torch

    manifest = {"tool": TOOL, **facts,
                # CPU float sums depend on the thread count: tiny-model numbers move with it (not part of the key)
                "device": str(accelerator.device), "cpu_threads": torch.get_num_threads(), "hardware": hardware(),
                "versions": library_versions()}
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        with atomic_dir(out, marker=MANIFEST) as tmp:
            model.save_pretrained(tmp, safe_serialization=True)
            processor.save_pretrained(tmp)
            manifest["weights_sha256"] = weights_checksum(tmp)  # the fingerprint covers the inputs, this the result
            atomic_write_json(tmp / MANIFEST, manifest)
            card = model_card(manifest)
            if card:
                (tmp / "README.md").write_text(card)
        shutil.rmtree(checkpoint, ignore_errors=True)
    accelerator.wait_for_everyone()
