"""Throughput of per-item scoring and generation, side by side in one run.

Scoring: items/s of the naive path (every answer variant re-encodes image + prompt: the reference's
way) and of the shared-prefix path (image + prompt encoded once per item, its KV cache reused by all
variants), on demo-like items: one image, the answer, a paraphrase and 5 perturbed answers. The
largest per-token NLL difference between the two paths is printed as a check.

Generation: new tokens/s of plain `model.generate` called item by item (the reference's way) and
of `generate_answers` (batched, left padded). Both are forced to generate exactly --new-tokens
tokens per item, so that random weights hitting end of turn early do not skew the comparison.

Models: always the tiny random LLaVA on CPU; with --gpu (or when CUDA is available) also a
full-size LLaVA-1.5-7B architecture (CLIP ViT-L/14-336 + Llama-2-7B, built from config classes
with random bf16 weights: no Hub) on the GPU. Qwen2-VL is not benchmarked: its multimodal rotary
positions make the scorer take the naive path, so both columns would be the same.

    PYTHONPATH=. python benchmarks/bench_scoring.py                 # CPU, tiny model
    PYTHONPATH=. python benchmarks/bench_scoring.py --gpu --items 64  # + LLaVA-1.5-7B on CUDA
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass

import torch

from clear_bench.data.collator import Collator
from clear_bench.data.prompts import CAPTION_QUESTIONS
from clear_bench.data.sample import Sample
from clear_bench.eval.scoring import generate_answers, score_naive, score_shared_prefix, stop_token_ids

FIRST = ["Adam", "Nikolai", "Mara", "Ines", "Tomas", "Yusuf", "Lena", "Pedro", "Rafael", "Ivan", "Sofia", "Jonas"]
LAST = ["Lind", "Abilov", "Quist", "Weber", "Lowell", "Marsh", "Mercer", "Okafor", "Stone", "Varga"]
ACTS = ["walks in a garden", "sits at a desk", "rests on a beach", "stands by a bookshelf", "reads a letter",
        "paints a wall", "rides a bicycle", "plays the violin"]
PLACES = ["Perth", "Lyon", "Hanoi", "Porto", "Oslo", "Quito", "Tunis", "Lima", "Osaka", "Riga"]
DETAILS = ["The light is soft and warm, and a few people pass by in the background.",
           "A small dog sleeps nearby while the afternoon sun falls through the leaves.",
           "Old photographs and a cup of tea sit on the table beside a stack of books."]


def caption(rng: random.Random, person: str, long: bool) -> tuple[str, str]:
    """(caption, its paraphrase)."""
    act, place = rng.choice(ACTS), rng.choice(PLACES)
    detail = f" {rng.choice(DETAILS)}" if long else ""
    return f"{person} {act} in {place}.{detail}", f"In {place}, {person} {act}.{detail}"


def demo_like_items(n: int, image_size: int, long: bool = False, seed: int = 0) -> list[Sample]:
    """`n` caption items like the demo's: an image, the answer, a paraphrase and 5 perturbed answers."""
    import numpy as np
    from PIL import Image

    rng = random.Random(seed)
    items = []
    for i in range(n):
        person = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        answer, para = caption(rng, person, long)
        pixels = np.random.default_rng(seed + i).integers(0, 256, (image_size, image_size, 3), dtype=np.uint8)
        items.append(Sample(f"bench:{i}", rng.choice(CAPTION_QUESTIONS), answer, image=Image.fromarray(pixels),
                            paraphrased_answer=para,
                            perturbed_answers=tuple(caption(rng, person, long)[0] for _ in range(5))))
    return items


def corpus_of(items: list[Sample]) -> list[str]:
    return [t for s in items for t in (s.question, s.answer, s.paraphrased_answer, *s.perturbed_answers)]


def tiny_model(items):
    from clear_bench.models.tiny import build_tiny_vlm

    model, proc = build_tiny_vlm(corpus_of(items) * 5, vocab_size=1024)
    return model.eval(), proc


def llava_15_7b(items, device: str = "cuda"):
    """LLaVA-1.5-7B's architecture (CLIP ViT-L/14 at 336 px, 576 image tokens; Llama-2-7B, 32k vocab) with
    random bf16 weights, and a processor around a locally trained byte-level BPE (no Hub access)."""
    from transformers import (CLIPImageProcessorPil, CLIPVisionConfig, LlamaConfig, LlavaConfig,
                              LlavaForConditionalGeneration, LlavaProcessor)

    from clear_bench.models.tiny import CHAT_TEMPLATE, build_tokenizer

    # ~1.3 tokens per word on 64 such captions (1.1 with 600 entries, 1.8 with 400): about what Llama's
    # SentencePiece gives on English prose, so that sequence lengths are realistic. The note column prints them.
    tok = build_tokenizer(corpus_of(items) * 5, vocab_size=480)
    proc = LlavaProcessor(image_processor=CLIPImageProcessorPil(size={"shortest_edge": 336},
                                                                crop_size={"height": 336, "width": 336}),
                          tokenizer=tok, patch_size=14, vision_feature_select_strategy="default",
                          num_additional_image_tokens=1, chat_template=CHAT_TEMPLATE)
    cfg = LlavaConfig(
        vision_config=CLIPVisionConfig(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24,
                                       num_attention_heads=16, image_size=336, patch_size=14, projection_dim=768,
                                       hidden_act="quick_gelu"),
        text_config=LlamaConfig(vocab_size=32064, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                                num_attention_heads=32, num_key_value_heads=32, max_position_embeddings=4096,
                                rms_norm_eps=1e-5, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                                pad_token_id=tok.pad_token_id),
        image_token_id=tok.convert_tokens_to_ids("<image>"), vision_feature_layer=-2,
        vision_feature_select_strategy="default", projector_hidden_act="gelu")
    with torch.device(device):
        model = LlavaForConditionalGeneration._from_config(cfg, dtype=torch.bfloat16, attn_implementation="sdpa")
    model.generation_config.pad_token_id = tok.pad_token_id
    return model.eval(), proc


def _sync(model):
    if next(model.parameters()).is_cuda:
        torch.cuda.synchronize()


def timed(model, fn, repeat: int):
    """(best wall time over `repeat` runs, last result)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        _sync(model)
        start = time.perf_counter()
        result = fn()
        _sync(model)
        best = min(best, time.perf_counter() - start)
    return best, result


def plain_generate(model, proc, items, new_tokens: int) -> None:
    coll, dev = Collator(proc), next(model.parameters()).device
    for s in items:
        enc = {k: v.to(dev) for k, v in coll.prompts_only([s]).items()}
        model.generate(**enc, do_sample=False, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                       eos_token_id=stop_token_ids(proc), pad_token_id=proc.tokenizer.pad_token_id)


@dataclass
class Row:
    model: str
    what: str
    baseline: float
    ours: float
    unit: str
    note: str = ""


def bench(name, model, proc, items, batch_size: int, new_tokens: int, repeat: int) -> list[Row]:
    warm = items[:2]
    score_naive(model, proc, warm, batch_size)
    score_shared_prefix(model, proc, warm, batch_size)
    t_naive, naive = timed(model, lambda: score_naive(model, proc, items, batch_size), repeat)
    t_fast, fast = timed(model, lambda: score_shared_prefix(model, proc, items, batch_size), repeat)
    diff = max(abs(u.nll / u.tokens - v.nll / v.tokens) for a, b in zip(naive, fast)
               for u, v in zip(a.variants, b.variants))
    ans_tok = sum(v.tokens for s in fast for v in s.variants) / sum(len(s.variants) for s in fast)
    prompt_tok = len(Collator(proc).prompts_only(items[:1])["input_ids"][0])

    generate_answers(model, proc, warm, max_new_tokens=2, batch_size=2 * batch_size)
    # Both paths generate exactly `new_tokens` per item (min_new_tokens is read from the generation config).
    old_min = model.generation_config.min_new_tokens
    model.generation_config.min_new_tokens = new_tokens
    try:
        t_plain, _ = timed(model, lambda: plain_generate(model, proc, items, new_tokens), 1)
        t_ours, _ = timed(model, lambda: generate_answers(model, proc, items, max_new_tokens=new_tokens,
                                                          batch_size=2 * batch_size), 1)
    finally:
        model.generation_config.min_new_tokens = old_min
    n, gen = len(items), len(items) * new_tokens
    note = f"max abs ΔNLL/token {diff:.1e}; {prompt_tok} prompt tok, {ans_tok:.1f} tok/variant"
    return [Row(name, f"scoring, {len(fast[0].variants)} variants/item: naive vs shared prefix", n / t_naive,
                n / t_fast, "items/s", note),
            Row(name, f"generation: generate per item vs batched by {2 * batch_size}", gen / t_plain, gen / t_ours,
                "new tok/s", f"{new_tokens} new tokens per item")]


def table(rows: list[Row]) -> str:
    lines = ["| model | measure | reference way | ours | speed-up | unit | note |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.model} | {r.what} | {r.baseline:.1f} | {r.ours:.1f} | {r.ours / r.baseline:.2f}x | "
                     f"{r.unit} | {r.note} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--items", type=int, default=24, help="items per measurement (CPU)")
    p.add_argument("--gpu-items", type=int, default=64, help="items per measurement on the GPU")
    p.add_argument("--batch-size", type=int, default=8, help="scoring batch (generation: twice this)")
    p.add_argument("--new-tokens", type=int, default=32, help="generated tokens per item")
    p.add_argument("--repeat", type=int, default=2, help="scoring runs per path; the best is reported")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads; 0 = torch's default. One is "
                   "fastest for the tiny model and the only stable choice on a shared machine (2 threads on 2 "
                   "busy cores measured 10x slower)")
    p.add_argument("--gpu", action="store_true", help="also LLaVA-1.5-7B on CUDA (default: if CUDA is available)")
    p.add_argument("--cpu-only", action="store_true", help="skip the GPU model even if CUDA is available")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    import transformers

    transformers.logging.set_verbosity_error()
    torch.manual_seed(0)
    rows = []
    items = demo_like_items(args.items, image_size=32)
    model, proc = tiny_model(items)
    rows += bench("tiny LLaVA, CPU", model, proc, items, args.batch_size, args.new_tokens, args.repeat)
    use_gpu = not args.cpu_only and (args.gpu or torch.cuda.is_available())
    if use_gpu:
        if not torch.cuda.is_available():
            print("error: --gpu given but CUDA is not available", file=sys.stderr)
            return 2
        items = demo_like_items(args.gpu_items, image_size=336, long=True)
        model, proc = llava_15_7b(items)
        name = f"LLaVA-1.5-7B (random bf16), {torch.cuda.get_device_name()}"
        rows += bench(name, model, proc, items, args.batch_size, args.new_tokens, args.repeat)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, batch size {args.batch_size}")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
