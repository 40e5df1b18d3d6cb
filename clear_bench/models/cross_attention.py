"""Models that read the image through cross-attention layers rather than image tokens in the sequence (Mllama,
Llama-3.2-Vision: `cross_attention_layers` of its text config).

Two things follow for the fast paths (`eval/scoring.py`):
- transformers runs those layers only for a batch that holds images (`MllamaTextModel.forward` skips them when
  there are no vision states); in a batch with images a text-only row goes through them with every vision token
  masked, which does not give the same numbers. Scoring and generation therefore never batch text rows beside
  image rows for such a model (`batch_groups`), so a row scores the same in any batch and alone.
- tokens that continue a cached prefix need their rows of the cross-attention mask: each continues the mask of
  its prompt's last token, as `MllamaForConditionalGeneration._update_model_kwargs_for_generation` does.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence


def cross_attention_layers(model) -> tuple[int, ...]:
    """Indices of the language model's cross-attention layers (empty for image-token models)."""
    cfg = getattr(model, "config", None)
    text = getattr(cfg, "text_config", cfg)
    return tuple(getattr(text, "cross_attention_layers", None) or ())


def batch_groups(model, keys: Sequence, batch_size: int, has_image: Callable[[object], bool]) -> list[list[int]]:
    """Batches of indices into `keys`, in order, `batch_size` at most; for a cross-attention model image rows and
    text rows are never in one batch."""
    apart = bool(cross_attention_layers(model))
    order = list(range(len(keys)))
    if apart:
        order.sort(key=lambda i: not has_image(keys[i]))  # stable: image rows first, each group in order
    batches, current = [], []
    for i in order:
        if current and (len(current) == batch_size or (apart and has_image(keys[i]) != has_image(keys[current[0]]))):
            batches.append(current)
            current = []
        current.append(i)
    return batches + ([current] if current else [])


def continuation_kwargs(prefix: dict, rows, length: int) -> dict:
    """Forward kwargs for `length` tokens continuing rows `rows` of an encoded prefix batch: the cross-attention
    mask of each row's last prompt token, repeated (none for image-token models)."""
    mask = prefix.get("cross_attention_mask")
    if mask is None:
        return {}
    last = mask[rows][:, -1:]
    return {"cross_attention_mask": last.expand(-1, length, *last.shape[2:])}
