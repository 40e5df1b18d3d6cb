"""Named settings: `paper` (the published benchmark on a GPU) and `demo` (offline, tiny, CPU)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from .data.demo import DEMO_DATA_VERSION, cache_dir, demo_data_dir  # noqa: F401  (re-exported: the old home)
from .data.prompts import NAME_PROMPT
from .registry import Registry
from .training.loop import TrainConfig
from .training.unlearn import UnlearnConfig


@dataclass(frozen=True)
class Preset:
    name: str
    model: str
    data: str | None  # None: the Hub ids (therem/CLEAR + locuslab/TOFU)
    lora_r: int
    finetune_requests: tuple[str, ...] = ()
    finetune_replay: bool = False
    finetune: TrainConfig = field(default_factory=TrainConfig)
    unlearn: UnlearnConfig = field(default_factory=UnlearnConfig)
    eval_cap: int = 300
    max_new_tokens: int = 300
    doc: str = ""


PRESETS: Registry[Preset] = Registry("preset", {
    # Qwen2-VL-2B-Instruct: one of the paper's three models, the reference code's default, and small
    # enough that target + gold fine-tuning, unlearning and the six tasks fit one GPU in well under an hour.
    # Batches group image rows with image rows and text with text (`full+tofu` mixes ~300-token image rows
    # with ~60-token TOFU rows): same steps and batch size as the paper, far less padding.
    "paper": Preset("paper", "Qwen/Qwen2-VL-2B-Instruct", None, lora_r=8,
                    finetune=TrainConfig(epochs=3, lr=1e-5, batch_size=4, weight_decay=0.01, warmup_epochs=1.0,
                                         seed=42, group_by_length=True),
                    unlearn=UnlearnConfig(lora_r=8, lora_alpha=32,
                                          train=TrainConfig(epochs=5, lr=1e-5, batch_size=4, warmup_epochs=1.0,
                                                            group_by_length=True)),
                    doc="therem/CLEAR + locuslab/TOFU from the Hub, Qwen2-VL-2B-Instruct, the paper's LoRA recipe"),
    # The tiny model memorises only with full fine-tuning at a high learning rate (LoRA on a random base
    # memorises by argmax only, with flat probabilities: tests/test_finetune_demo.py checks the recipe).
    "demo": Preset("demo", "tiny", "demo", lora_r=0, finetune_requests=(NAME_PROMPT,), finetune_replay=True,
                   finetune=TrainConfig(epochs=50, lr=1e-3, batch_size=10, weight_decay=0.0, warmup_epochs=1.0,
                                        seed=42),
                   unlearn=UnlearnConfig(lora_r=8, lora_alpha=16,
                                         train=TrainConfig(epochs=10, lr=1e-3, batch_size=4, warmup_epochs=0.0,
                                                           weight_decay=0.0)),
                   eval_cap=300, max_new_tokens=24,
                   doc="built-in procedural data and a tiny LLaVA trained from scratch, offline on a CPU"),
})


def get_preset(name: str) -> Preset:
    return PRESETS.get(name)


def with_overrides(preset: Preset, **kw) -> Preset:
    return replace(preset, **{k: v for k, v in kw.items() if v is not None})
