"""Causal LMs (the text track's model family): load any `AutoModelForCausalLM` with its tokenizer, or build the
tiny offline Llama of the demo.

The tokenizer stands in for the processor everywhere (collator, scorer, unlearning runner): a causal
LM has no image processor, and nothing downstream needs one for text-only samples.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from ..errors import ClearBenchError
from .loading import check_compatible, default_device, default_dtype, load_weights
from ..utils import looks_like_path

log = logging.getLogger(__name__)

# TOFU's prompt format for Llama-2 (`config/model_config.yaml`: "[INST] " question " [/INST]"), given to
# tokenizers without a chat template of their own (base models).
FALLBACK_CHAT_TEMPLATE = (
    "{% for m in messages %}{% if m['role'] == 'user' %}[INST] {{ m['content'] }} [/INST]"
    "{% else %}{{ m['content'] }}{{ eos_token }}{% endif %}{% endfor %}")


def prepare_tokenizer(tok):
    """A pad token (the EOS, as TOFU does, when the tokenizer has none) and a chat template."""
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if not getattr(tok, "chat_template", None):
        log.info("the tokenizer has no chat template; using TOFU's [INST] ... [/INST] format")
        tok.chat_template = FALLBACK_CHAT_TEMPLATE
    return tok


def load_causal_lm(name_or_path: str, device: str | None = None, dtype=None, trust_remote_code: bool = False):
    """(model, tokenizer) of a causal LM from a Hub id or a local folder (safetensors only); a peft adapter
    folder is merged onto its base."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = device or default_device()
    if not Path(name_or_path).exists() and looks_like_path(name_or_path):
        raise ClearBenchError(f"model folder {name_or_path} does not exist")
    try:
        model = load_weights(AutoModelForCausalLM, name_or_path, device, dtype or default_dtype(device),
                             trust_remote_code)
        tok = AutoTokenizer.from_pretrained(name_or_path, trust_remote_code=trust_remote_code)
    except ValueError as e:  # e.g. a VLM's config: no causal-LM class for it
        raise ClearBenchError(f"{name_or_path} is not a causal language model (AutoModelForCausalLM): "
                              f"{str(e).splitlines()[0][:200]}") from e
    except OSError as e:  # the tokenizer
        raise ClearBenchError(f"cannot load the tokenizer of {name_or_path}: {str(e).splitlines()[0][:200]}") from e
    tok = prepare_tokenizer(tok)
    check_compatible(model, tok, name_or_path)
    if model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tok.pad_token_id
    return model.to(device), tok


def build_tiny_causal_lm(corpus: Iterable[str], vocab_size: int = 1024, hidden: int = 128, layers: int = 4,
                         seed: int = 0):
    """A random tiny Llama (`layers` x `hidden`, ~1M parameters) and a byte-level BPE tokenizer trained on
    `corpus` (the tiny VLM's tokenizer, `models/tiny.py`), with the same chat format."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from .tiny import build_tokenizer

    tok = build_tokenizer(corpus, vocab_size)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=hidden, intermediate_size=4 * hidden,
                      num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                      max_position_embeddings=512, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                      pad_token_id=tok.pad_token_id, tie_word_embeddings=False)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(cfg)
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = [tok.convert_tokens_to_ids("<|end|>"), tok.eos_token_id]
    model.generation_config.do_sample = False
    return model, tok


# Offline base models `--model` accepts by name on the text track.
TINY_TEXT_MODELS = {"tiny": build_tiny_causal_lm}


def save_model(model, tokenizer, out: str | Path) -> Path:
    out = Path(out)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out
