"""Position ids for left-padded batches and for continuing from a cached prefix.

Models number positions from the first column unless told otherwise, so left-padded rows pass
explicit positions (real tokens 0..n-1). Qwen2-VL numbers image tokens with 3-D rotary positions
(time, height, width: "M-RoPE"): it computes them from the attention mask itself, and a text token
after the image sits at `text index + rope_delta`, with a per-row delta the model stores when it
encodes the prompt. Code that continues from a cached prefix (shared-prefix scoring, ensemble
decoding) adds that delta itself.
"""
from __future__ import annotations

import torch

from ..data.collator import left_padded_positions, model_numbers_positions


def uses_mrope(model) -> bool:
    """True for models whose positions are not plain token indices (Qwen2-VL family)."""
    return any(hasattr(m, "rope_deltas") for m in model.modules())


def _rope_deltas(model) -> torch.Tensor | None:
    for m in model.modules():
        if getattr(m, "rope_deltas", None) is not None:
            return m.rope_deltas
    return None


def _model_numbers_itself(model, inputs: dict) -> bool:
    return model_numbers_positions(inputs) and uses_mrope(model)


def prefix_position_kwargs(model, inputs: dict) -> dict:
    """Extra forward kwargs for a left-padded prompt batch encoded from an empty cache."""
    if _model_numbers_itself(model, inputs):
        return {}  # M-RoPE with images: the model derives 3-D positions from the mask
    return {"position_ids": left_padded_positions(inputs["attention_mask"])}


def next_positions(model, inputs: dict) -> torch.Tensor:
    """[batch, 1] position of the first token after each row's prompt (call after encoding `inputs`)."""
    pos = inputs["attention_mask"].long().sum(1, keepdim=True)
    if _model_numbers_itself(model, inputs):
        pos = pos + _rope_deltas(model).to(pos.device)
    return pos
