"""A tiny LLaVA-architecture VLM built from a config, with a byte-level BPE tokenizer trained locally.

No network at any point: the tokenizer is trained on the dataset's own text, the weights are
random, and the result is saved and reloaded through the normal `from_pretrained` path. With full
fine-tuning it really memorises the demo data, which is what the tests need.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

SPECIALS = ["<pad>", "<s>", "</s>", "<unk>", "<image>", "<|user|>", "<|assistant|>", "<|end|>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}{% if m['role'] == 'user' %}<|user|>{% else %}<|assistant|>{% endif %}"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}<image>{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}"
    "{% endfor %}{% endif %}{% if m['role'] != 'user' %}<|end|>{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}")


def _train_bpe(corpus: Iterable[str], vocab_size: int, specials: list[str], unk_token: str | None = None):
    """A byte-level BPE `tokenizers.Tokenizer` trained on `corpus`, with `specials` as its first ids."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token=unk_token))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(list(corpus), trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False))
    return tok


def build_tokenizer(corpus: Iterable[str], vocab_size: int = 1024):
    """Byte-level BPE trained on `corpus`, wrapped as a fast tokenizer with a chat template and <image>."""
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    tok = _train_bpe(corpus, vocab_size, SPECIALS, unk_token="<unk>")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", tok.token_to_id("<s>"))])
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                 unk_token="<unk>", extra_special_tokens={"image_token": "<image>"})
    hf.add_special_tokens({"additional_special_tokens": SPECIALS[4:]})
    hf.chat_template = CHAT_TEMPLATE
    return hf


def build_tiny_vlm(corpus: Iterable[str], vocab_size: int = 1024, hidden: int = 256, layers: int = 4,
                   image_size: int = 32, patch: int = 8, seed: int = 0, vision_hidden: int = 64,
                   vision_layers: int = 2):
    """Random tiny LLaVA (CLIP-ViT 2x64 + Llama `layers` x `hidden`) and its processor (~4.5M params)."""
    import torch
    from transformers import (CLIPImageProcessorPil, CLIPVisionConfig, LlamaConfig, LlavaConfig,
                              LlavaForConditionalGeneration, LlavaProcessor)

    tok = build_tokenizer(corpus, vocab_size)
    image_proc = CLIPImageProcessorPil(size={"shortest_edge": image_size},
                                    crop_size={"height": image_size, "width": image_size})
    proc = LlavaProcessor(image_processor=image_proc, tokenizer=tok, patch_size=patch,
                          vision_feature_select_strategy="default", num_additional_image_tokens=1,
                          chat_template=CHAT_TEMPLATE)
    cfg = LlavaConfig(
        vision_config=CLIPVisionConfig(hidden_size=vision_hidden, intermediate_size=2 * vision_hidden,
                                       num_hidden_layers=vision_layers, num_attention_heads=2,
                                       image_size=image_size, patch_size=patch),
        text_config=LlamaConfig(vocab_size=len(tok), hidden_size=hidden, intermediate_size=4 * hidden,
                                num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                                max_position_embeddings=512, bos_token_id=tok.bos_token_id,
                                eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id),
        image_token_id=tok.convert_tokens_to_ids("<image>"), vision_feature_layer=-1,
        vision_feature_select_strategy="default")
    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(cfg)
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = [tok.convert_tokens_to_ids("<|end|>"), tok.eos_token_id]
    model.generation_config.do_sample = False
    return model, proc


def save_tiny_vlm(model, processor, out: str | Path) -> Path:
    out = Path(out)
    model.save_pretrained(out, safe_serialization=True)
    processor.save_pretrained(out)
    return out


QWEN_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                 "<|image_pad|>", "<|video_pad|>"]
QWEN_CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def build_qwen_tokenizer(corpus: Iterable[str], vocab_size: int = 1024):
    """Byte-level BPE trained on `corpus` with Qwen's special tokens and chat format (no BOS)."""
    from transformers import PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast(tokenizer_object=_train_bpe(corpus, vocab_size, QWEN_SPECIALS),
                                  eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tok.chat_template = QWEN_CHAT_TEMPLATE
    return tok


def build_tiny_qwen2vl(corpus: Iterable[str], vocab_size: int = 1024, hidden: int = 64, layers: int = 2,
                       image_pixels: int = 28 * 28 * 4, seed: int = 0):
    """Random tiny Qwen2-VL (M-RoPE, 2x2 patch merge) with Qwen's chat format, for CPU tests of the Qwen paths.

    Images are resized to about `image_pixels` (default: 4 merged tokens); the processor has no video
    processor, so it needs no torchvision.
    """
    import torch
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration, Qwen2VLImageProcessorPil

    from .qwen import image_only_processor_class

    tok = build_qwen_tokenizer(corpus, vocab_size)
    image_proc = Qwen2VLImageProcessorPil(min_pixels=image_pixels, max_pixels=image_pixels, patch_size=14,
                                          merge_size=2, temporal_patch_size=2)
    proc = image_only_processor_class()(image_processor=image_proc, tokenizer=tok, chat_template=QWEN_CHAT_TEMPLATE)
    ids = tok.convert_tokens_to_ids
    head_dim = hidden // 4
    cfg = Qwen2VLConfig(
        text_config=dict(vocab_size=len(tok), hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=1024, bos_token_id=None, eos_token_id=ids("<|im_end|>"),
                         pad_token_id=tok.pad_token_id,
                         rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                                          "mrope_section": [head_dim // 8, head_dim * 3 // 16, head_dim * 3 // 16]}),
        vision_config=dict(depth=2, embed_dim=32, hidden_size=hidden, num_heads=2, patch_size=14,
                           spatial_merge_size=2, temporal_patch_size=2),
        image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"))
    torch.manual_seed(seed)
    model = Qwen2VLForConditionalGeneration(cfg)
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = [ids("<|im_end|>")]
    model.generation_config.do_sample = False
    return model, proc


# The offline base models `--model` accepts by name (the demo preset's default is "tiny"), each built from the
# data's own text: a LLaVA (~4.5M parameters, 16 image tokens) and a Qwen2-VL (~1M, M-RoPE, 4 image tokens).
TINY_MODELS = {
    "tiny": build_tiny_vlm,
    "tiny-qwen2vl": lambda corpus, seed=0: build_tiny_qwen2vl(corpus, hidden=128, layers=4, seed=seed),
}


def _family_builder(name: str):
    def build(corpus, seed=0):
        from .tiny_families import TINY_FAMILY_MODELS

        return TINY_FAMILY_MODELS[name](corpus, seed=seed)
    return build


def _add_family_models() -> None:
    """The tiny models of the newer families (`models/tiny_families.py`), under the names the support matrix
    declares (`models/architectures.py`): `--model tiny-gemma3` and so on."""
    from .architectures import ARCHITECTURES

    for a in ARCHITECTURES:
        TINY_MODELS.setdefault(a.tiny, _family_builder(a.tiny))


_add_family_models()
