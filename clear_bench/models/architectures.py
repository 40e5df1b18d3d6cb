"""The VLM architectures clear-bench supports, and what each supports: the table `clear-bench ls models` prints
and the README carries. tests/test_families.py checks every row against a tiny model of the architecture (it
fine-tunes, unlearns and compares the fast paths with the plain ones); a refusal is a one-line reason.

Columns:
- fine-tune: `clear-bench finetune` (full or LoRA; LoRA on every language-model linear layer, `models/lora.py`);
- logit-loss methods: every method whose loss reads the answer logits (GA, GD, KL, NPO, SimNPO, IDK, DPO, ...);
- RMU: steering one language-model layer's hidden states (`baselines/rmu.py`);
- shared-prefix scoring: image + prompt encoded once per item (`eval/scoring.py`), equal to the naive path;
- merged generation: greedy generation on LoRA-merged weights, batched, equal to the unmerged adapters' one by one.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ClearBenchError

YES = ""  # a capability that holds; any other value is the one-line reason it is refused


@dataclass(frozen=True)
class Architecture:
    """One architecture family: its `config.model_type`s, the tiny offline model `--model` takes for it, the Hub
    checkpoints it was written for, and a reason per capability it refuses ("" = supported, tested)."""

    name: str
    model_types: tuple[str, ...]
    tiny: str
    checkpoints: tuple[str, ...]
    finetune: str = YES
    logit_losses: str = YES
    rmu: str = YES
    shared_prefix: str = YES
    merged_generation: str = YES
    note: str = ""

    def supports(self, capability: str) -> bool:
        return getattr(self, capability) == YES


CAPABILITIES = ("finetune", "logit_losses", "rmu", "shared_prefix", "merged_generation")
HEADERS = ("fine-tune", "logit-loss methods", "RMU", "shared-prefix scoring", "merged generation")

ARCHITECTURES = (
    Architecture("LLaVA-1.5", ("llava",), "tiny", ("llava-hf/llava-1.5-7b-hf",)),
    Architecture("Qwen2-VL", ("qwen2_vl",), "tiny-qwen2vl", ("Qwen/Qwen2-VL-2B-Instruct", "Qwen/Qwen2-VL-7B-Instruct")),
    Architecture("Qwen2.5-VL", ("qwen2_5_vl",), "tiny-qwen2.5vl",
                 ("Qwen/Qwen2.5-VL-3B-Instruct", "Qwen/Qwen2.5-VL-7B-Instruct")),
    Architecture("Qwen3-VL", ("qwen3_vl",), "tiny-qwen3vl", ("Qwen/Qwen3-VL-2B-Instruct", "Qwen/Qwen3-VL-8B-Instruct")),
    Architecture("Idefics3 / SmolVLM", ("idefics3",), "tiny-idefics3",
                 ("HuggingFaceM4/Idefics3-8B-Llama3", "HuggingFaceTB/SmolVLM-Instruct")),
    Architecture("SmolVLM2", ("smolvlm",), "tiny-smolvlm",
                 ("HuggingFaceTB/SmolVLM2-2.2B-Instruct", "HuggingFaceTB/SmolVLM2-500M-Video-Instruct"),
                 note="its processor needs num2words (`pip install clear-bench[smolvlm]`)"),
    Architecture("Gemma 3", ("gemma3",), "tiny-gemma3", ("google/gemma-3-4b-it", "google/gemma-3-12b-it")),
    Architecture("LLaVA-OneVision", ("llava_onevision",), "tiny-onevision",
                 ("llava-hf/llava-onevision-qwen2-0.5b-ov-hf", "llava-hf/llava-onevision-qwen2-7b-ov-hf")),
    Architecture("InternVL", ("internvl",), "tiny-internvl", ("OpenGVLab/InternVL3-1B-hf", "OpenGVLab/InternVL3-8B-hf")),
    # cross-attention image layers: scoring and generation keep image rows and text rows in separate batches and
    # continue the cross-attention mask (`models/cross_attention.py`); RMU steers a self-attention layer
    Architecture("Llama-3.2-Vision (Mllama)", ("mllama",), "tiny-mllama",
                 ("meta-llama/Llama-3.2-11B-Vision-Instruct",),
                 note="cross-attention image layers: image and text rows are scored in separate batches; RMU "
                      "steers a layer below the first cross-attention layer (0-2 on the 11B)"),
)


# Families transformers ships whose input format the shared collator cannot feed, each with the reason.
UNSUPPORTED = {
    "paligemma": "PaliGemma's processor wants an image in every row (CLEAR+TOFU mixes in text-only rows) and the "
                 "answer as a separate suffix (its prefix attends bidirectionally), not the prompt + answer rows "
                 "the collator builds",
}


def architecture_of(model_type: str) -> Architecture | None:
    for a in ARCHITECTURES:
        if model_type in a.model_types:
            return a
    return None


def tiny_architecture(name: str) -> Architecture:
    for a in ARCHITECTURES:
        if a.tiny == name:
            return a
    raise ClearBenchError(f"unknown tiny model '{name}'; known: {', '.join(a.tiny for a in ARCHITECTURES)}")


def model_type(model) -> str:
    return getattr(model.config, "model_type", "")


def check_model_type(model_type: str, name: str) -> Architecture:
    """The architecture of a checkpoint's `model_type`, or a one-line error naming the known families."""
    arch = architecture_of(model_type)
    if model_type in UNSUPPORTED:
        raise ClearBenchError(f"{name}: model family '{model_type}' is not supported: {UNSUPPORTED[model_type]}")
    if arch is None:
        known = ", ".join(f"{a.name} ({'/'.join(a.model_types)})" for a in ARCHITECTURES)
        raise ClearBenchError(f"{name}: model family '{model_type}' is not one clear-bench knows; known: {known}")
    return arch


def refusal(model, capability: str) -> str:
    """"" when `model`'s architecture supports `capability`, else the one-line reason (unknown types: "")."""
    arch = architecture_of(model_type(model))
    return getattr(arch, capability) if arch is not None else YES


def matrix() -> list[list[str]]:
    """The support matrix: one row per architecture, "yes" or "no: <reason>" per capability."""
    rows = []
    for a in ARCHITECTURES:
        rows.append([a.name, a.tiny] + ["yes" if a.supports(c) else f"no: {getattr(a, c)}" for c in CAPABILITIES]
                    + [a.note])
    return rows


def markdown_matrix() -> str:
    """The matrix as the README's Markdown table."""
    head = ["family", "tiny model"] + list(HEADERS) + ["notes"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in matrix()]
    return "\n".join(lines)
