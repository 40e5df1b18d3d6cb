"""LoRA via peft: every linear layer but the LM head (vision tower frozen by default)."""
from __future__ import annotations

import re
from pathlib import Path

from .loading import vision_module_prefixes


def lora_target_regex(model, include_vision: bool = False, exclude=("lm_head",)) -> str:
    """A peft `target_modules` regex matching every nn.Linear except the LM head (and the vision tower)."""
    import torch

    vision = [] if include_vision else vision_module_prefixes(model)
    names = []
    for name, module in model.named_modules():
        if not isinstance(module, torch.nn.Linear):
            continue
        if any(name == v or name.startswith(v + ".") for v in vision):
            continue
        if name.rsplit(".", 1)[-1] in exclude:
            continue
        names.append(re.escape(name))
    if not names:
        raise ValueError("no linear layers to put LoRA on")
    return "^(?:" + "|".join(names) + ")$"


def free_memory_bytes(device) -> int | None:
    """Bytes free for new tensors on `device`: the GPU's free memory, or the machine's MemAvailable on the CPU
    (None where neither can be read)."""
    import torch

    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def check_lora_fits(model, targets: str, r: int) -> None:
    """Refuse, before allocating, adapters whose training state cannot fit: r * (in + out) parameters per target
    layer, each held as a weight, a gradient and two Adam moments in fp32 (16 bytes)."""
    import torch

    from ..errors import ClearBenchError

    pattern = re.compile(targets) if isinstance(targets, str) else None
    params = sum(r * (m.in_features + m.out_features) for name, m in model.named_modules()
                 if isinstance(m, torch.nn.Linear) and (pattern.match(name) if pattern else
                                                         name.rsplit(".", 1)[-1] in targets))
    need = params * 16
    device = next(model.parameters()).device
    free = free_memory_bytes(device)
    if free is not None and need > free:
        raise ClearBenchError(f"LoRA r {r} needs ~{need / 2**30:.1f} GiB for its adapters' training state "
                              f"({params:,} parameters) but {free / 2**30:.1f} GiB are free on {device.type}: "
                              "choose a smaller --lora-r")


def apply_lora(model, r: int = 8, alpha: int = 32, dropout: float = 0.0, include_vision: bool = False,
               target_modules: str | list[str] | None = None):
    """Wrap `model` with fresh LoRA adapters; only the adapters train (refused first if they cannot fit)."""
    import warnings

    from peft import LoraConfig, get_peft_model

    targets = target_modules or lora_target_regex(model, include_vision=include_vision)
    check_lora_fits(model, targets, r)
    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets, bias="none")
    with warnings.catch_warnings():  # peft reads transformers' deprecated `is_gradient_checkpointing`: not ours to fix
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        return get_peft_model(model, config)


def freeze_vision(model) -> None:
    for prefix in vision_module_prefixes(model):
        model.get_submodule(prefix).requires_grad_(False)
