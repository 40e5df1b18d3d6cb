"""The text track's named settings: `paper` (CLEAR Table 4 on a GPU) and `demo` (offline, tiny, CPU)."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import UnknownNameError
from ..training.loop import TrainConfig
from ..training.unlearn import UnlearnConfig


@dataclass(frozen=True)
class TextPreset:
    """One text-track setting.

    Attributes:
        name: the preset's name (`--preset`).
        model: base causal LM (Hub id or folder), or "tiny" (a tiny Llama built from the data's text).
        data: None: the Hub's locuslab/TOFU; "demo": the built-in procedural data; else a folder.
        lora_r: LoRA rank of fine-tuning (0 = full fine-tuning).
        lora_alpha: LoRA scaling numerator of fine-tuning.
        finetune: optimisation settings of target and gold fine-tuning.
        unlearn: the unlearning recipe (LoRA, optimisation).
        replay_world_knowledge: fine-tune on TOFU's real-authors and world-facts questions too. A random tiny
            model knows nothing of the world; a pretrained LLM does, and the Real metric measures how much of
            that knowledge unlearning keeps.
        eval_cap: items per evaluation task (None: all, as TOFU evaluates).
        max_new_tokens: greedy generation length for ROUGE-L.
        doc: one line for `--help`.
    """

    name: str
    model: str
    data: str | None
    lora_r: int
    lora_alpha: int = 32
    finetune: TrainConfig = field(default_factory=TrainConfig)
    unlearn: UnlearnConfig = field(default_factory=UnlearnConfig)
    replay_world_knowledge: bool = False
    eval_cap: int | None = None
    max_new_tokens: int = 200
    doc: str = ""


# CLEAR App. F: fine-tuning on TOFU full (target) and retain90 (gold), then unlearning, 5 epochs each,
# batch 4, lr 1e-5, weight decay 0.01, LoRA r 8 / alpha 32 / dropout 0. TOFU generates up to 200 tokens.
_PAPER_TRAIN = TrainConfig(epochs=5, lr=1e-5, batch_size=4, weight_decay=0.01, warmup_epochs=1.0, seed=42)

TEXT_PRESETS = {
    "paper": TextPreset("paper", "meta-llama/Llama-2-7b-chat-hf", None, lora_r=8, lora_alpha=32,
                        finetune=_PAPER_TRAIN,
                        unlearn=UnlearnConfig(modality="text", lora_r=8, lora_alpha=32, train=_PAPER_TRAIN),
                        eval_cap=None, max_new_tokens=200,
                        doc="locuslab/TOFU from the Hub, Llama-2-7b-chat, the paper's LoRA recipe (CLEAR Table 4)"),
    # The tiny Llama memorises only with full fine-tuning at a high learning rate (as the tiny VLM). Unlearning:
    # 40 steps on the 4 forget QA pairs (measured: GA / GD / NPO lower the forget answers' probability from 0.99
    # to 0.06 / 0.23 / 0.04; with 20 steps GD reached only 0.47).
    "demo": TextPreset("demo", "tiny", "demo", lora_r=0,
                       finetune=TrainConfig(epochs=40, lr=2e-3, batch_size=8, weight_decay=0.0, warmup_epochs=1.0,
                                            seed=42),
                       unlearn=UnlearnConfig(modality="text", lora_r=8, lora_alpha=16,
                                             train=TrainConfig(epochs=20, lr=1e-3, batch_size=2, warmup_epochs=0.0,
                                                               weight_decay=0.0)),
                       replay_world_knowledge=True, eval_cap=300, max_new_tokens=24,
                       doc="built-in procedural TOFU data and a tiny Llama trained from scratch, offline on a CPU"),
}


def get_text_preset(name: str) -> TextPreset:
    if name not in TEXT_PRESETS:
        raise UnknownNameError("text-track preset", name, TEXT_PRESETS)
    return TEXT_PRESETS[name]
