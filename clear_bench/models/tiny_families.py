"""Tiny offline models of the newer VLM families, built from their configs with a locally trained tokenizer.

Each builder returns (random model, processor) of the family's own classes: the processor class its real
checkpoints use, with the family's special tokens and chat format, and the PIL ("slow") image processor, as
torchvision cannot be installed on the CPU machines (a processor whose video processor needs torchvision is
built image-only: `image_only`). Every model has a hidden size <= 64 and 2 decoder layers, so a fine-tune on
a few demo persons takes seconds (tests/test_families.py).
"""
from __future__ import annotations

import inspect
from collections.abc import Iterable
from types import SimpleNamespace

from .tiny import QWEN_CHAT_TEMPLATE, QWEN_SPECIALS, _train_bpe

# A user turn's parts in order (image first, then text); `{img}` is the family's image placeholder.
_PARTS = ("{{% if m['content'] is string %}}{{{{ m['content'] }}}}{{% else %}}{{% for c in m['content'] %}}"
          "{{% if c['type'] == 'image' %}}{img}{{% elif c['type'] == 'text' %}}{{{{ c['text'] }}}}{{% endif %}}"
          "{{% endfor %}}{{% endif %}}")


def _parts(img: str) -> str:
    return _PARTS.format(img=img)


def bpe_tokenizer(corpus: Iterable[str], specials: list[str], chat_template: str | None, vocab_size: int = 512,
                  bos: str | None = None, **tokens):
    """A byte-level BPE trained on `corpus` with `specials` as its first ids, as a fast tokenizer; with `bos`,
    every encoding starts with it (Llama, Gemma); `tokens` are the named special tokens (eos_token=...)."""
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    tok = _train_bpe(corpus, vocab_size, specials)
    if bos:
        tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A {bos} $B",
                                                           special_tokens=[(bos, tok.token_to_id(bos))])
    extra = {k: tokens.pop(k) for k in list(tokens) if k not in ("eos_token", "pad_token", "unk_token")}
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=bos, extra_special_tokens=extra or None, **tokens)
    named = {bos, *tokens.values(), *extra.values()}
    hf.add_special_tokens({"additional_special_tokens": [s for s in specials if s not in named]})
    hf.chat_template = chat_template
    return hf


_NO_VIDEO = SimpleNamespace(num_frames=None, fps=None)


def image_only(processor_cls):
    """`processor_cls` without its video processor (which needs torchvision): images go through the PIL image
    processor. Saved under the real class's name, so a machine with torchvision loads the full processor from
    the same folder, one without it this class (`models/loading.py`)."""
    from transformers.processing_utils import ProcessorMixin

    attributes = [a for a in ProcessorMixin.get_attributes.__func__(processor_cls) if a != "video_processor"]

    class ImageOnly(processor_cls):
        @classmethod
        def get_attributes(cls):
            return list(attributes)

        @property
        def video_processor(self):  # SmolVLM's chat template reads its frame settings (unset: no video here)
            return _NO_VIDEO

    if inspect.signature(processor_cls.__init__).parameters["video_processor"].default is inspect.Parameter.empty:
        # SmolVLM's takes it without a default. Spelled out: from_pretrained reads the arguments a constructor
        # takes (chat_template, image_seq_len) from its code object
        def __init__(self, image_processor=None, tokenizer=None, video_processor=None, image_seq_len: int = 169,
                     chat_template=None, **kwargs):
            processor_cls.__init__(self, image_processor, tokenizer, video_processor, image_seq_len=image_seq_len,
                                   chat_template=chat_template, **kwargs)

        ImageOnly.__init__ = __init__
    ImageOnly.__name__ = ImageOnly.__qualname__ = processor_cls.__name__
    return ImageOnly


def _finish(model, tok, stops: list[str]):
    ids = [tok.convert_tokens_to_ids(s) for s in stops]
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = ids
    model.generation_config.do_sample = False
    model.generation_config.bos_token_id = tok.bos_token_id
    return model


def _seeded(seed: int):
    import torch

    torch.manual_seed(seed)


def _qwen_text(tok, hidden: int, layers: int) -> dict:
    head_dim = hidden // 4
    return dict(vocab_size=len(tok), hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024, bos_token_id=None,
                eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"), pad_token_id=tok.pad_token_id,
                rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                                 "mrope_section": [head_dim // 8, head_dim * 3 // 16, head_dim * 3 // 16]})


def _qwen_tokenizer(corpus):
    return bpe_tokenizer(corpus, QWEN_SPECIALS, QWEN_CHAT_TEMPLATE, eos_token="<|im_end|>",
                         pad_token="<|endoftext|>")


def _qwen_ids(tok) -> dict:
    ids = tok.convert_tokens_to_ids
    return dict(image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
                vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"))


def build_tiny_qwen25vl(corpus: Iterable[str], hidden: int = 64, layers: int = 2, seed: int = 0):
    """Qwen2.5-VL: windowed-attention vision tower, M-RoPE, 2x2 patch merge (4 image tokens per 56x56 image)."""
    from transformers import (Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen2_5_VLProcessor,
                              Qwen2VLImageProcessorPil)

    tok = _qwen_tokenizer(corpus)
    image_proc = Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=56 * 56, patch_size=14, merge_size=2,
                                          temporal_patch_size=2)
    proc = image_only(Qwen2_5_VLProcessor)(image_processor=image_proc, tokenizer=tok,
                                           chat_template=QWEN_CHAT_TEMPLATE)
    cfg = Qwen2_5_VLConfig(
        text_config=_qwen_text(tok, hidden, layers),
        vision_config=dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=hidden,
                           patch_size=14, spatial_merge_size=2, temporal_patch_size=2, window_size=56,
                           fullatt_block_indexes=[1]),
        **_qwen_ids(tok))
    _seeded(seed)
    return _finish(Qwen2_5_VLForConditionalGeneration(cfg), tok, ["<|im_end|>"]), proc


def build_tiny_qwen3vl(corpus: Iterable[str], hidden: int = 64, layers: int = 2, seed: int = 0):
    """Qwen3-VL: 16-pixel patches, interleaved M-RoPE, DeepStack (vision features added to early LM layers)."""
    from transformers import Qwen2VLImageProcessorPil, Qwen3VLConfig, Qwen3VLForConditionalGeneration, Qwen3VLProcessor

    tok = _qwen_tokenizer(corpus)
    image_proc = Qwen2VLImageProcessorPil(min_pixels=64 * 64, max_pixels=64 * 64, patch_size=16, merge_size=2,
                                          temporal_patch_size=2)
    proc = image_only(Qwen3VLProcessor)(image_processor=image_proc, tokenizer=tok, chat_template=QWEN_CHAT_TEMPLATE)
    text = _qwen_text(tok, hidden, layers)
    text.update(head_dim=hidden // 4, rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                                                       "mrope_section": [2, 1, 1], "mrope_interleaved": True})
    cfg = Qwen3VLConfig(
        text_config=text,
        vision_config=dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=hidden,
                           patch_size=16, spatial_merge_size=2, temporal_patch_size=2, num_position_embeddings=16,
                           deepstack_visual_indexes=[0]),
        **_qwen_ids(tok))
    _seeded(seed)
    return _finish(Qwen3VLForConditionalGeneration(cfg), tok, ["<|im_end|>"]), proc


def _llama_text(tok, hidden: int, layers: int, **kw) -> dict:
    return dict(vocab_size=len(tok), hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, **kw)


# Idefics3-8B-Llama3's and SmolVLM's format: "User:<image>question<end_of_utterance>\nAssistant: answer"
IDEFICS3_CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] | capitalize }}:" + _parts("<image>") + "<end_of_utterance>\n{% endfor %}"
    "{% if add_generation_prompt %}Assistant:{% endif %}")


def build_tiny_idefics3(corpus: Iterable[str], hidden: int = 64, layers: int = 2, seed: int = 0):
    """Idefics3 (SmolVLM-Instruct's architecture): SigLIP tower, pixel shuffle (scale 2), Llama LM; one 32x32
    image without splitting gives 4 image tokens between <fake_token_around_image><global-img> markers."""
    from transformers import (Idefics3Config, Idefics3ForConditionalGeneration, Idefics3ImageProcessorPil,
                              Idefics3Processor)

    return _idefics_style(corpus, hidden, layers, seed, Idefics3Config, Idefics3ForConditionalGeneration,
                          Idefics3ImageProcessorPil, Idefics3Processor)


def _idefics_style(corpus, hidden, layers, seed, config_cls, model_cls, image_proc_cls, proc_cls, extra_specials=()):
    """Idefics3's design (SigLIP tower, pixel shuffle, Llama LM, its chat format) built from the family's own
    classes: one 32x32 image without splitting gives 4 image tokens."""
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<pad>", "<image>", "<fake_token_around_image>",
                "<global-img>", "<end_of_utterance>", *extra_specials]
    tok = bpe_tokenizer(corpus, specials, IDEFICS3_CHAT_TEMPLATE, bos="<|begin_of_text|>",
                        eos_token="<end_of_utterance>", pad_token="<pad>")
    edge = {"longest_edge": 32}
    image_proc = image_proc_cls(do_image_splitting=False, size=edge, max_image_size=edge)
    proc = proc_cls(image_processor=image_proc, tokenizer=tok, image_seq_len=4, chat_template=IDEFICS3_CHAT_TEMPLATE)
    cfg = config_cls(
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           image_size=32, patch_size=8),
        text_config=dict(model_type="llama", **_llama_text(tok, hidden, layers)),
        image_token_id=tok.convert_tokens_to_ids("<image>"), scale_factor=2, pad_token_id=tok.pad_token_id)
    _seeded(seed)
    return _finish(model_cls(cfg), tok, ["<end_of_utterance>"]), proc


def build_tiny_smolvlm(corpus: Iterable[str], hidden: int = 64, layers: int = 2, seed: int = 0):
    """SmolVLM2: Idefics3's design (SigLIP tower, pixel shuffle, Llama LM, its chat format) under its own classes;
    one 32x32 image without splitting gives 4 image tokens. Its processor needs the num2words package."""
    from transformers import SmolVLMConfig, SmolVLMForConditionalGeneration, SmolVLMImageProcessorPil, SmolVLMProcessor

    return _idefics_style(corpus, hidden, layers, seed, SmolVLMConfig, SmolVLMForConditionalGeneration,
                          SmolVLMImageProcessorPil, image_only(SmolVLMProcessor), extra_specials=("<video>",))


# Gemma 3's format (google/gemma-3-4b-it): turns "<start_of_turn>user\n...<end_of_turn>\n", the model's turn
# "model"; the image as <start_of_image>, which the processor expands to the full image sequence.
GEMMA_CHAT_TEMPLATE = (
    "{% for m in messages %}<start_of_turn>{{ 'model' if m['role'] == 'assistant' else m['role'] }}\n"
    + _parts("<start_of_image>") + "<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n"
    "{% endif %}")


def build_tiny_gemma3(corpus: Iterable[str], hidden: int = 64, layers: int = 2, seed: int = 0):
    """Gemma 3: SigLIP tower pooled to 4 soft tokens per 32x32 image, Gemma 3 LM (local sliding-window and
    global layers, tied embeddings), bidirectional attention over the image tokens (token_type_ids)."""
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration, Gemma3ImageProcessorPil, Gemma3Processor

    specials = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>", "<start_of_image>",
                "<end_of_image>", "<image_soft_token>"]
    tok = bpe_tokenizer(corpus, specials, GEMMA_CHAT_TEMPLATE, bos="<bos>", eos_token="<eos>", pad_token="<pad>",
                        unk_token="<unk>", boi_token="<start_of_image>", eoi_token="<end_of_image>",
                        image_token="<image_soft_token>")
    image_proc = Gemma3ImageProcessorPil(size={"height": 32, "width": 32}, do_pan_and_scan=False)
    proc = Gemma3Processor(image_processor=image_proc, tokenizer=tok, image_seq_length=4,
                           chat_template=GEMMA_CHAT_TEMPLATE)
    ids = tok.convert_tokens_to_ids
    cfg = Gemma3Config(
        text_config=dict(vocab_size=len(tok), hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                         query_pre_attn_scalar=16, sliding_window=16, max_position_embeddings=1024,
                         layer_types=["sliding_attention", "full_attention"][:layers] if layers == 2 else None,
                         bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id),
        vision_config=dict(model_type="siglip_vision_model", hidden_size=32, intermediate_size=64,
                           num_hidden_layers=2, num_attention_heads=2, image_size=32, patch_size=8),
        mm_tokens_per_image=4, boi_token_index=ids("<start_of_image>"), eoi_token_index=ids("<end_of_image>"),
        image_token_index=ids("<image_soft_token>"))
    _seeded(seed)
    return _finish(Gemma3ForConditionalGeneration(cfg), tok, ["<end_of_turn>", "<eos>"]), proc


# LLaVA-OneVision-Qwen2's format: Qwen's turns, the image placeholder on its own line before the question.
ONEVISION_CHAT_TEMPLATE = QWEN_CHAT_TEMPLATE.replace("<|vision_start|><|image_pad|><|vision_end|>", "<image>\n")


def build_tiny_onevision(corpus: Iterable[str], hidden: int = 64, layers: int = 2, seed: int = 0):
    """LLaVA-OneVision: SigLIP tower, "anyres" tiling (a base view plus one 32x32 tile, each 16 tokens, with
    row-end newline embeddings), Qwen2 LM."""
    from transformers import (LlavaOnevisionConfig, LlavaOnevisionForConditionalGeneration,
                              LlavaOnevisionImageProcessorPil, LlavaOnevisionProcessor)

    specials = QWEN_SPECIALS[:3] + ["<image>", "<video>"]
    tok = bpe_tokenizer(corpus, specials, ONEVISION_CHAT_TEMPLATE, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    image_proc = LlavaOnevisionImageProcessorPil(size={"height": 32, "width": 32}, image_grid_pinpoints=[[32, 32]])
    proc = image_only(LlavaOnevisionProcessor)(image_processor=image_proc, tokenizer=tok, num_image_tokens=16,
                                               vision_feature_select_strategy="full",
                                               chat_template=ONEVISION_CHAT_TEMPLATE)
    ids = tok.convert_tokens_to_ids
    cfg = LlavaOnevisionConfig(
        vision_config=dict(model_type="siglip_vision_model", hidden_size=32, intermediate_size=64,
                           num_hidden_layers=2, num_attention_heads=2, image_size=32, patch_size=8),
        text_config=dict(model_type="qwen2", **_llama_text(tok, hidden, layers)),
        image_token_index=ids("<image>"), video_token_index=ids("<video>"), image_grid_pinpoints=[[32, 32]],
        vision_feature_select_strategy="full", vision_feature_layer=-1)
    _seeded(seed)
    return _finish(LlavaOnevisionForConditionalGeneration(cfg), tok, ["<|im_end|>"]), proc


# Llama 3.2 Vision Instruct's format: header-delimited turns, the image as <|image|> before the question.
LLAMA3_CHAT_TEMPLATE = (
    "{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n" + _parts("<|image|>")
    + "<|eot_id|>{% endfor %}{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n"
    "{% endif %}")


def build_tiny_mllama(corpus: Iterable[str], hidden: int = 64, layers: int = 3, seed: int = 0):
    """Mllama (Llama-3.2-Vision): the image is not in the token sequence; a gated cross-attention layer (layer 1
    of 3) reads the vision tower's states (one 28x28 tile, 4 patches + CLS) at the <|image|> rows."""
    import torch
    from transformers import MllamaConfig, MllamaForConditionalGeneration, MllamaImageProcessorPil, MllamaProcessor

    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|finetune_right_pad_id|>", "<|start_header_id|>",
                "<|end_header_id|>", "<|eot_id|>", "<|image|>", "<|python_tag|>"]
    tok = bpe_tokenizer(corpus, specials, LLAMA3_CHAT_TEMPLATE, bos="<|begin_of_text|>", eos_token="<|eot_id|>",
                        pad_token="<|finetune_right_pad_id|>")
    image_proc = MllamaImageProcessorPil(size={"height": 28, "width": 28}, max_image_tiles=1)
    proc = MllamaProcessor(image_processor=image_proc, tokenizer=tok, chat_template=LLAMA3_CHAT_TEMPLATE)
    cfg = MllamaConfig(
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_global_layers=1,
                           attention_heads=2, image_size=28, patch_size=14, max_num_tiles=1,
                           intermediate_layers_indices=[0], vision_output_dim=64,
                           supported_aspect_ratios=[[1, 1]]),
        text_config=dict(**_llama_text(tok, hidden, layers), cross_attention_layers=[1]),
        image_token_index=tok.convert_tokens_to_ids("<|image|>"))
    _seeded(seed)
    model = MllamaForConditionalGeneration(cfg)
    with torch.no_grad():  # the gates start closed (tanh(0) = 0): open them, or the image would change nothing
        for name, p in model.named_parameters():
            if name.endswith(("cross_attn_attn_gate", "cross_attn_mlp_gate")):
                p.fill_(1.0)
    return _finish(model, tok, ["<|eot_id|>"]), proc


# InternVL3-hf's format: Qwen's turns, the image placeholder on its own line before the question (the processor
# expands it to <img><IMG_CONTEXT>...</img>).
INTERNVL_CHAT_TEMPLATE = QWEN_CHAT_TEMPLATE.replace("<|vision_start|><|image_pad|><|vision_end|>", "<IMG_CONTEXT>\n")


def build_tiny_internvl(corpus: Iterable[str], hidden: int = 64, layers: int = 2, seed: int = 0):
    """InternVL (3, "-hf" format): InternViT tower, pixel shuffle (ratio 0.5: 4 tokens per 32x32 image, no
    tiling), MLP projector, Qwen2 LM."""
    from transformers import (GotOcr2ImageProcessorPil, InternVLConfig, InternVLForConditionalGeneration,
                              InternVLProcessor)

    specials = QWEN_SPECIALS[:3] + ["<img>", "</img>", "<IMG_CONTEXT>", "<video>"]
    tok = bpe_tokenizer(corpus, specials, INTERNVL_CHAT_TEMPLATE, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                        start_image_token="<img>", end_image_token="</img>", context_image_token="<IMG_CONTEXT>",
                        video_token="<video>")
    image_proc = GotOcr2ImageProcessorPil(size={"height": 32, "width": 32}, crop_to_patches=False, max_patches=1)
    proc = image_only(InternVLProcessor)(image_processor=image_proc, tokenizer=tok, image_seq_length=4,
                                         chat_template=INTERNVL_CHAT_TEMPLATE)
    cfg = InternVLConfig(
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           image_size=[32, 32], patch_size=[8, 8]),
        text_config=dict(model_type="qwen2", **_llama_text(tok, hidden, layers)),
        image_token_id=tok.convert_tokens_to_ids("<IMG_CONTEXT>"), image_seq_length=4, downsample_ratio=0.5)
    _seeded(seed)
    return _finish(InternVLForConditionalGeneration(cfg), tok, ["<|im_end|>"]), proc


# tiny name -> builder `(corpus, seed=0) -> (model, processor)`; `models/architectures.py` declares what each
# supports
TINY_FAMILY_MODELS = {
    "tiny-qwen2.5vl": build_tiny_qwen25vl,
    "tiny-qwen3vl": build_tiny_qwen3vl,
    "tiny-idefics3": build_tiny_idefics3,
    "tiny-smolvlm": build_tiny_smolvlm,
    "tiny-gemma3": build_tiny_gemma3,
    "tiny-onevision": build_tiny_onevision,
    "tiny-mllama": build_tiny_mllama,
    "tiny-internvl": build_tiny_internvl,
}
