"""Model families of the LM recipe: what `job.py`'s steps and `finetune` ask a track's model family (`tracks.Track.family`).

A family says how to load a model and its processor (a VLM's processor, or a causal LM's tokenizer: the tokenizer
stands in for the processor everywhere, collator, scorer and unlearning runner), which offline tiny bases it
builds, which split its models are fine-tuned on, what the tiny model is taught first (`replay`), and how the
collator draws the fine-tuning prompts. Everything else (training loop, manifests, caching, evaluation) is shared.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ClearBenchError
from ..models.tiny import TINY_MODELS
from ..registry import Registry
from ..utils import atomic_dir, stable_hash

TEXT_WORLD_CONFIGS = ("real_authors_perturbed", "world_facts_perturbed")
TINY_TEXT_BASE_VERSION = 1  # bump when the tiny causal LM base's construction changes


@dataclass(frozen=True)
class Family:
    """One model family.

    Attributes:
        name: "vlm" or "causal-lm" (`tracks.Track.family`).
        kind: what its models are, for errors ("vision-language model").
        dataset: the dataset its fine-tune splits live in ("clear": `full+tofu`; "tofu": `full`).
        split_config: the config of fine-tune split `split` ("{split}+tofu" / "{split}").
        tiny: the offline tiny base names `--model` takes.
        load: `(name_or_path, device=None, trust_remote_code=False) -> (model, processor)`.
        build_tiny: `(source, cache_dir, seed, name) -> folder` of the cached tiny base of a data source.
        replay: `(source) -> samples` mixed into fine-tuning when the preset replays world knowledge.
        replay_configs: (dataset, config) of what `replay` reads (part of the fine-tune's data fingerprint).
        caption_requests: the collator draws a caption request per image row (a VLM's fine-tuning).
        cache_prefix: prefix of its fine-tuned models' cache folders.
    """

    name: str
    kind: str
    dataset: str
    split_config: str
    tiny: tuple[str, ...]
    load: Callable
    build_tiny: Callable
    replay: Callable
    replay_configs: tuple[tuple[str, str], ...]
    caption_requests: bool
    cache_prefix: str = ""

    def config_of(self, split: str) -> str:
        """The data config of fine-tune split `split` (full: the target model; retainNN: a gold model)."""
        if split != "full" and split not in ("retain90", "retain95", "retain99"):
            raise ClearBenchError(f"fine-tune split '{split}' must be 'full' or retain90/retain95/retain99")
        return self.split_config.format(split=split)

    def check_model(self, model: str | None, track: str) -> None:
        """A tiny base of another family given as `--model` is one line, before any work."""
        for other in FAMILIES.values():
            if model in other.tiny and model not in self.tiny:
                raise ClearBenchError(f"--model {model} is a {other.kind}; the {track} track takes a {self.kind} "
                                      f"(Hub id or folder) or {' / '.join(self.tiny)}")
        if model and model.startswith("tiny") and model not in self.tiny and not Path(model).exists():
            raise ClearBenchError(f"--model {model}: no such tiny model or folder; the {track} track's tiny models: "
                                  f"{' / '.join(self.tiny)}")


def _load_vlm(name_or_path, device=None, trust_remote_code=False):
    from ..models.loading import load_model

    return load_model(name_or_path, device=device, trust_remote_code=trust_remote_code)


def _load_causal_lm(name_or_path, device=None, trust_remote_code=False):
    from ..models.causal_lm import load_causal_lm

    return load_causal_lm(name_or_path, device=device, trust_remote_code=trust_remote_code)


def _vlm_tiny(source, cache_dir, seed, name):
    from .finetune import tiny_base

    return tiny_base(source, Path(cache_dir), seed, name)


def _vlm_replay(source):
    from .finetune import world_knowledge

    return world_knowledge(source)


def _text_corpus_configs(source) -> list[tuple[str, str]]:
    """The TOFU configs the tiny causal LM's tokenizer is trained on: those of `corpus_configs`, and the holdout
    authors' QA when the data has them. Their names then tokenize as the forget authors' do (a pretrained
    tokenizer's vocabulary covers every person alike); the weights never train on them. Without them a holdout
    answer took 12-14 tokens where a forget answer of the same template took 7-8, and the text track's
    membership inference told members from non-members by tokenization alone: the gold model, which never saw
    either, had a LOSS-attack AUC of 1.0 (demo, tests/test_text_track.py)."""
    from .finetune import corpus_configs

    holdout = [("tofu", "holdout_perturbed")] if source.has_config("tofu", "holdout_perturbed") else []
    return corpus_configs(("tofu",)) + holdout


def text_corpus(source) -> list[str]:
    """All TOFU text the tiny tokenizer is trained on (`_text_corpus_configs`)."""
    from .finetune import corpus_text

    return corpus_text(source, _text_corpus_configs(source))


def _text_tiny(source, cache_dir, seed, name):
    """The random tiny causal LM of a data source with its tokenizer, built once and cached (target and gold
    share it: same tokenizer, same initial weights)."""
    from ..models.causal_lm import TINY_TEXT_MODELS, save_model
    from .finetune import data_fingerprint

    # every config the corpus reads, and the world configs the replay reads
    configs = dict.fromkeys([c for _, c in _text_corpus_configs(source)] + list(TEXT_WORLD_CONFIGS))
    parts = [data_fingerprint(source, "tofu", c) for c in configs]
    out = Path(cache_dir) / f"text-{name}-base-{stable_hash(parts + [seed, TINY_TEXT_BASE_VERSION])}"
    if (out / "config.json").exists():
        return out
    model, tok = TINY_TEXT_MODELS[name](text_corpus(source), seed=seed)
    with atomic_dir(out) as tmp:
        save_model(model, tok, tmp)
    return out


def _text_replay(source) -> list:
    """TOFU's real-authors and world-facts questions with their answers, as training samples."""
    from ..data.convert import training_samples

    return [s for c in TEXT_WORLD_CONFIGS for s in training_samples(source.load("tofu", c), source.name("tofu"), c)]


FAMILIES: Registry[Family] = Registry("model family", [(f.name, f) for f in (
    Family("vlm", "vision-language model", "clear", "{split}+tofu", tuple(TINY_MODELS), _load_vlm, _vlm_tiny,
           _vlm_replay, (("clear", "real_faces"), ("clear", "real_world")), caption_requests=True),
    Family("causal-lm", "causal language model", "tofu", "{split}", ("tiny",), _load_causal_lm, _text_tiny,
           _text_replay, tuple(("tofu", c) for c in TEXT_WORLD_CONFIGS), caption_requests=False,
           cache_prefix="text-"),
)])
