"""Evaluation throughput: per-item scoring and greedy generation, the plain way vs ours, in one run.

Scoring: items/s of the naive path (every answer variant re-encodes image + prompt: the reference's
way) and of the shared-prefix path (image + prompt encoded once per item, its KV cache reused by all
variants), on CLEAR-like caption items: one image, the answer, a paraphrase and 5 perturbed answers.
The largest per-token NLL difference between the two paths is printed as a check.

Generation: new tokens/s of plain `model.generate` as the reference evaluates an unlearned LoRA
model (peft wrapper, adapters not merged, dynamic cache, batches of 16), of `generate` on merged
weights at the same batch, and of `generate_answers` (merged weights; on CUDA a static KV cache with
the step compiled by transformers and batches bucketed to one shape, batch 64). Every path is
forced to generate exactly --new-tokens tokens per item (random weights stop at random).

    PYTHONPATH=. python benchmarks/bench_scoring.py                          # CPU: both tiny models
    PYTHONPATH=. python benchmarks/bench_scoring.py --model qwen2-vl-2b      # GPU (the setting of benchmarks/README.md)
    PYTHONPATH=. python benchmarks/bench_scoring.py --model qwen2-vl-2b --device cpu --layers 1 \\
        --vision-layers 1 --items 4 --new-tokens 4                           # smoke run of the GPU path
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from models import MODELS, build, demo_like_items, timed  # noqa: E402

from clear_bench.data.collator import Collator  # noqa: E402
from clear_bench.eval.scoring import generate_answers, score_naive, score_shared_prefix, stop_token_ids  # noqa: E402
from clear_bench.models.lora import apply_lora  # noqa: E402


def plain_generate(model, proc, items, new_tokens: int, batch_size: int) -> None:
    """`model.generate` on left-padded batches in input order, dynamic cache: the reference's way."""
    coll, dev = Collator(proc), next(model.parameters()).device
    for start in range(0, len(items), batch_size):
        enc = {k: v.to(dev) for k, v in coll.prompts_only(items[start:start + batch_size]).items()}
        model.generate(**enc, do_sample=False, max_new_tokens=new_tokens, eos_token_id=stop_token_ids(proc),
                       pad_token_id=proc.tokenizer.pad_token_id)


@dataclass
class Row:
    model: str
    what: str
    baseline: float
    ours: float
    unit: str
    note: str = ""


def bench(built, items, device: str, batch_size: int, gen_batch: int, new_tokens: int, repeat: int) -> list[Row]:
    model, proc, name = built.model.eval(), built.processor, built.name
    warm = items[:2]
    score_naive(model, proc, warm, batch_size)
    score_shared_prefix(model, proc, warm, batch_size)
    t_naive, naive = timed(device, lambda: score_naive(model, proc, items, batch_size), repeat)
    t_fast, fast = timed(device, lambda: score_shared_prefix(model, proc, items, batch_size), repeat)
    diff = max(abs(u.nll / u.tokens - v.nll / v.tokens) for a, b in zip(naive, fast)
               for u, v in zip(a.variants, b.variants))
    ans_tok = sum(v.tokens for s in fast for v in s.variants) / sum(len(s.variants) for s in fast)
    prompt_tok = len(Collator(proc).prompts_only(items[:1])["input_ids"][0])
    n = len(items)
    rows = [Row(name, f"scoring, {len(fast[0].variants)} variants/item: naive vs shared prefix", n / t_naive,
                n / t_fast, "items/s", f"max abs ΔNLL/token {diff:.1e}; {prompt_tok} prompt tok, "
                                       f"{ans_tok:.1f} tok/variant")]

    static = device.startswith("cuda")
    peft_model = apply_lora(model, r=8, alpha=32).eval()  # B = 0: same outputs, unmerged adapter overhead
    old_min = model.generation_config.min_new_tokens
    model.generation_config.min_new_tokens = new_tokens  # read by every path: exactly `new_tokens` each
    try:
        plain_generate(peft_model, proc, warm, new_tokens, 16)
        t_peft, _ = timed(device, lambda: plain_generate(peft_model, proc, items, new_tokens, 16))
        base = peft_model.unload()  # the merged model (B = 0)
        t_merged, _ = timed(device, lambda: plain_generate(base, proc, items, new_tokens, 16))
        # warm-up compiles every bucket the measured run will use (static cache on CUDA)
        generate_answers(base, proc, items, max_new_tokens=new_tokens, batch_size=gen_batch)
        t_ours, _ = timed(device, lambda: generate_answers(base, proc, items, max_new_tokens=new_tokens,
                                                           batch_size=gen_batch))
    finally:
        model.generation_config.min_new_tokens = old_min
    gen = n * new_tokens
    what = (f"generation: generate (peft, unmerged, bs 16) vs ours (merged, "
            f"{'static cache, bucketed, ' if static else ''}bs {gen_batch})")
    rows.append(Row(name, what, gen / t_peft, gen / t_ours, "new tok/s",
                    f"{new_tokens} new tokens per item; merged weights, plain generate bs 16: {gen / t_merged:.1f}"))
    return rows


def table(rows: list[Row]) -> str:
    lines = ["| model | measure | plain | ours | speed-up | unit | note |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.model} | {r.what} | {r.baseline:,.1f} | {r.ours:,.1f} | {r.ours / r.baseline:.2f}x | "
                     f"{r.unit} | {r.note} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=sorted(MODELS), action="append",
                   help="repeatable (default: both tiny models on CPU, and qwen2-vl-2b when CUDA is available)")
    p.add_argument("--device", default=None, help="default: cuda for full-size models, cpu for tiny ones")
    p.add_argument("--items", type=int, default=None, help="items per measurement (default: 24 CPU, 128 GPU)")
    p.add_argument("--batch-size", type=int, default=8, help="scoring batch (the evaluator's default)")
    p.add_argument("--gen-batch", type=int, default=None, help="our generation batch (default: 64 GPU, 16 CPU)")
    p.add_argument("--new-tokens", type=int, default=None, help="generated tokens per item (default: 32 CPU, 64 GPU)")
    p.add_argument("--repeat", type=int, default=2, help="scoring runs per path; the best is reported")
    p.add_argument("--layers", type=int, default=None, help="shrink full-size language models (smoke runs)")
    p.add_argument("--vision-layers", type=int, default=None, help="shrink the Qwen2-VL vision tower (smoke runs)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads; 0 = torch's default. One is "
                   "fastest for the tiny model and the only stable choice on a shared machine")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    import warnings

    import transformers

    transformers.logging.set_verbosity_error()
    warnings.filterwarnings("ignore", category=FutureWarning)
    names = args.model or (["tiny-llava", "tiny-qwen2vl"] + (["qwen2-vl-2b"] if torch.cuda.is_available() else []))
    rows = []
    for name in names:
        device = args.device or ("cpu" if name.startswith("tiny") else "cuda")
        if device.startswith("cuda") and not torch.cuda.is_available():
            print(f"error: {name} needs CUDA (or --device cpu with --layers for a smoke run)", file=sys.stderr)
            return 2
        gpu = device.startswith("cuda")
        full = not name.startswith("tiny")
        items = demo_like_items(args.items or (128 if gpu else 24), image_size=448 if full else 32, long=full)
        torch.manual_seed(0)
        built = build(name, items, device, args.layers, args.vision_layers)
        rows += bench(built, items, device, args.batch_size, args.gen_batch or (64 if gpu else 16),
                      args.new_tokens or (64 if gpu else 32), args.repeat)
        del built
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, {torch.get_num_threads()} CPU "
          f"threads{', ' + torch.cuda.get_device_name() if torch.cuda.is_available() else ''}, "
          f"scoring batch {args.batch_size}")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
