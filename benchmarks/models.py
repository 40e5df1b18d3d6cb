"""Models, items and timing for the benchmarks: full-size architectures from config with random weights (no Hub).

- `tiny-llava`, `tiny-qwen2vl`: the test models, for CPU runs.
- `qwen2-vl-2b`: Qwen2-VL-2B-Instruct's architecture (ViT 32 x 1280 + Qwen2 28 x 1536, 151,936-token
  vocabulary, tied embedding: 2.21B parameters), 448 x 448 images = 256 merged image tokens, the
  setting of benchmarks/README.md. `--layers` / `--vision-layers` shrink it for a CPU smoke run.
- `llava-1.5-7b`: CLIP ViT-L/14-336 (576 image tokens) + Llama-2-7B (32k vocabulary).

Tokenizers are byte-level BPEs trained on the items' text (no Hub); their special tokens carry the
ids the configs name. Full-size models are built in bf16 directly on the target device.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from clear_bench.data.prompts import CAPTION_QUESTIONS
from clear_bench.data.sample import Sample

FIRST = ["Adam", "Nikolai", "Mara", "Ines", "Tomas", "Yusuf", "Lena", "Pedro", "Rafael", "Ivan", "Sofia", "Jonas"]
LAST = ["Lind", "Abilov", "Quist", "Weber", "Lowell", "Marsh", "Mercer", "Okafor", "Stone", "Varga"]
ACTS = ["walks in a garden", "sits at a desk", "rests on a beach", "stands by a bookshelf", "reads a letter",
        "paints a wall", "rides a bicycle", "plays the violin"]
PLACES = ["Perth", "Lyon", "Hanoi", "Porto", "Oslo", "Quito", "Tunis", "Lima", "Osaka", "Riga"]
DETAILS = ["The light is soft and warm, and a few people pass by in the background.",
           "A small dog sleeps nearby while the afternoon sun falls through the leaves.",
           "Old photographs and a cup of tea sit on the table beside a stack of books."]
QUESTIONS = ["Where was {p} born?", "What genre does {p} write in?", "What was the name of {p}'s first book?",
             "Which awards has {p} received for their work?"]


def caption(rng: random.Random, person: str, long: bool) -> tuple[str, str]:
    """(caption, its paraphrase)."""
    act, place = rng.choice(ACTS), rng.choice(PLACES)
    detail = f" {rng.choice(DETAILS)}" if long else ""
    return f"{person} {act} in {place}.{detail}", f"In {place}, {person} {act}.{detail}"


def demo_like_items(n: int, image_size: int, long: bool = False, seed: int = 0, text_fraction: float = 0.0
                    ) -> list[Sample]:
    """`n` items like CLEAR's: caption rows (an image, the answer, a paraphrase, 5 perturbed answers) and,
    with `text_fraction`, TOFU-like text-only QA rows mixed in (as in `full+tofu`)."""
    import numpy as np
    from PIL import Image

    rng = random.Random(seed)
    items = []
    for i in range(n):
        person = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        if rng.random() < text_fraction:
            q = rng.choice(QUESTIONS).format(p=person)
            answer = f"{person} was born in {rng.choice(PLACES)} and writes about {rng.choice(ACTS)[6:]}."
            items.append(Sample(f"bench:{i}", q, answer, paraphrased_answer=answer.replace(" and ", ", and "),
                                perturbed_answers=tuple(answer.replace(p, rng.choice(PLACES)) for p in PLACES[:5])))
            continue
        answer, para = caption(rng, person, long)
        pixels = np.random.default_rng(seed + i).integers(0, 256, (image_size, image_size, 3), dtype=np.uint8)
        items.append(Sample(f"bench:{i}", rng.choice(CAPTION_QUESTIONS), answer, image=Image.fromarray(pixels),
                            paraphrased_answer=para,
                            perturbed_answers=tuple(caption(rng, person, long)[0] for _ in range(5))))
    return items


def corpus_of(items: list[Sample]) -> list[str]:
    return [t for s in items for t in (s.question, s.answer, s.paraphrased_answer, *s.perturbed_answers)]


@dataclass
class Built:
    model: torch.nn.Module
    processor: object
    name: str
    lm_params: int  # language-model parameters (MFU counts 6 x these per trained token, less the frozen)
    vision_params: int  # vision tower (frozen: forward only)
    image_size: int


def _count(model, prefixes) -> tuple[int, int]:
    vision = sum(p.numel() for n, p in model.named_parameters() if any(n.startswith(x) for x in prefixes))
    return sum(p.numel() for p in model.parameters()) - vision, vision


def _built(model, proc, name, image_size) -> Built:
    from clear_bench.models.loading import vision_module_prefixes

    lm, vision = _count(model, vision_module_prefixes(model))
    return Built(model, proc, name, lm, vision, image_size)


def tiny_llava(items) -> Built:
    from clear_bench.models.tiny import build_tiny_vlm

    model, proc = build_tiny_vlm(corpus_of(items) * 5, vocab_size=1024)
    return _built(model, proc, "tiny LLaVA (4.5M)", 32)


def tiny_qwen2vl(items) -> Built:
    from clear_bench.models.tiny import build_tiny_qwen2vl

    model, proc = build_tiny_qwen2vl(corpus_of(items) * 5, vocab_size=1024)
    return _built(model, proc, "tiny Qwen2-VL", 56)


def qwen2_vl_2b(items, device: str = "cuda", layers: int | None = None, vision_layers: int | None = None,
                dtype=torch.bfloat16) -> Built:
    """Qwen2-VL-2B-Instruct's config (values from its config.json) with random weights."""
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration, Qwen2VLImageProcessorPil

    from clear_bench.models.qwen import image_only_processor_class
    from clear_bench.models.tiny import QWEN_CHAT_TEMPLATE, build_qwen_tokenizer

    # a 480-entry vocabulary gives ~1.3 tokens per word on these captions, about what Qwen's BPE gives on prose
    tok = build_qwen_tokenizer(corpus_of(items) * 5, vocab_size=480)
    px = 448 * 448
    proc = image_only_processor_class()(
        image_processor=Qwen2VLImageProcessorPil(min_pixels=px, max_pixels=px, patch_size=14, merge_size=2,
                                                 temporal_patch_size=2),
        tokenizer=tok, chat_template=QWEN_CHAT_TEMPLATE)
    ids = tok.convert_tokens_to_ids
    cfg = Qwen2VLConfig(
        text_config=dict(vocab_size=151936, hidden_size=1536, intermediate_size=8960, num_hidden_layers=layers or 28,
                         num_attention_heads=12, num_key_value_heads=2, max_position_embeddings=32768,
                         rms_norm_eps=1e-6, tie_word_embeddings=True, bos_token_id=None,
                         eos_token_id=ids("<|im_end|>"), pad_token_id=tok.pad_token_id,
                         rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": [16, 24, 24]}),
        vision_config=dict(depth=vision_layers or 32, embed_dim=1280, hidden_size=1536, mlp_ratio=4, num_heads=16,
                           patch_size=14, spatial_merge_size=2, temporal_patch_size=2),
        image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"),
        tie_word_embeddings=True)
    attn = "sdpa" if device.startswith("cuda") else None
    with torch.device(device):
        model = Qwen2VLForConditionalGeneration._from_config(cfg, dtype=dtype, attn_implementation=attn)
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = [ids("<|im_end|>")]
    model.generation_config.do_sample = False
    name = "Qwen2-VL-2B" if layers is None and vision_layers is None else \
        f"Qwen2-VL-2B shape, {layers or 28}+{vision_layers or 32} layers"
    return _built(model, proc, f"{name} (random {str(dtype).split('.')[-1]})", 448)


def llava_15_7b(items, device: str = "cuda", layers: int | None = None, dtype=torch.bfloat16) -> Built:
    """LLaVA-1.5-7B's architecture (CLIP ViT-L/14 at 336 px, 576 image tokens; Llama-2-7B, 32k vocab)."""
    from transformers import (CLIPImageProcessorPil, CLIPVisionConfig, LlamaConfig, LlavaConfig,
                              LlavaForConditionalGeneration, LlavaProcessor)

    from clear_bench.models.tiny import CHAT_TEMPLATE, build_tokenizer

    tok = build_tokenizer(corpus_of(items) * 5, vocab_size=480)
    proc = LlavaProcessor(image_processor=CLIPImageProcessorPil(size={"shortest_edge": 336},
                                                                crop_size={"height": 336, "width": 336}),
                          tokenizer=tok, patch_size=14, vision_feature_select_strategy="default",
                          num_additional_image_tokens=1, chat_template=CHAT_TEMPLATE)
    cfg = LlavaConfig(
        vision_config=CLIPVisionConfig(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24,
                                       num_attention_heads=16, image_size=336, patch_size=14, projection_dim=768,
                                       hidden_act="quick_gelu"),
        text_config=LlamaConfig(vocab_size=32064, hidden_size=4096, intermediate_size=11008,
                                num_hidden_layers=layers or 32, num_attention_heads=32, num_key_value_heads=32,
                                max_position_embeddings=4096, rms_norm_eps=1e-5, bos_token_id=tok.bos_token_id,
                                eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id),
        image_token_id=tok.convert_tokens_to_ids("<image>"), vision_feature_layer=-2,
        vision_feature_select_strategy="default", projector_hidden_act="gelu")
    attn = "sdpa" if device.startswith("cuda") else None
    with torch.device(device):
        model = LlavaForConditionalGeneration._from_config(cfg, dtype=dtype, attn_implementation=attn)
    model.generation_config.pad_token_id = tok.pad_token_id
    return _built(model, proc, "LLaVA-1.5-7B (random bf16)", 336)


MODELS = {"tiny-llava": tiny_llava, "tiny-qwen2vl": tiny_qwen2vl, "qwen2-vl-2b": qwen2_vl_2b,
          "llava-1.5-7b": llava_15_7b}


def build(name: str, items, device: str, layers: int | None = None, vision_layers: int | None = None) -> Built:
    """A benchmark model by name; full-size ones on `device` in bf16 (float32 on CPU)."""
    if name.startswith("tiny"):
        b = MODELS[name](items)
        b.model.to(device)
        return b
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    kw = dict(layers=layers, dtype=dtype)
    if name == "qwen2-vl-2b":
        kw["vision_layers"] = vision_layers
    return MODELS[name](items, device=device, **kw)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(device: str, fn, repeat: int = 1):
    """(best wall time over `repeat` runs of `fn`, its last result), the device synchronised around each run."""
    import time

    best, result = float("inf"), None
    for _ in range(repeat):
        sync(device)
        start = time.perf_counter()
        result = fn()
        sync(device)
        best = min(best, time.perf_counter() - start)
    return best, result


def peak_memory_gib(device: str) -> float:
    import resource

    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def gpu_peak_tflops() -> float:
    """Dense bf16 peak of the current GPU (H100 SXM 989, H200 989, A100 312); 0 when unknown."""
    name = torch.cuda.get_device_name() if torch.cuda.is_available() else ""
    for key, tflops in (("H100", 989.0), ("H200", 989.0), ("A100", 312.0), ("L40S", 362.0)):
        if key in name:
            return tflops
    return 0.0
