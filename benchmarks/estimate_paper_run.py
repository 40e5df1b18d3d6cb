"""Estimated wall time of a full paper-setting `clear-eval` (Qwen2-VL-2B, forget 10 %, both modalities).

`clear-eval --preset paper --method npo --modality both` does, from an empty cache:
target fine-tune on `full+tofu` (3,768 image + 4,000 text rows, 3 epochs), gold fine-tune on
`retain90+tofu` (3,391 + 3,600 rows, 3 epochs), unlearning (379 + 400 forget rows, 5 epochs, one
retain row per forget row), and three evaluations (gold, target, unlearned) of eight tasks: four
caption-like (forget/retain captions, TOFU forget/retain QA: 300 items each, 7 answer variants)
and four short-answer (forget/retain face->name, real faces 151, real world: names or options).

This script measures the unit costs on the given model with clear-bench's own code (the paper
recipe's LoRA fine-tuning step, the NPO unlearning step with its reference cache, scoring and
generation of both item kinds) and multiplies them by those sizes. Generation is timed at the
answer lengths a trained model produces (--caption-tokens / --short-tokens) and, as a worst case,
at the preset's 300-token cap (a collapsed model that never stops). Model loading and saving are
not counted (seconds for 2B parameters).

    PYTHONPATH=. python benchmarks/estimate_paper_run.py                       # GPU, Qwen2-VL-2B
    PYTHONPATH=. python benchmarks/estimate_paper_run.py --model tiny-qwen2vl  # CPU, the code path
"""
from __future__ import annotations

import argparse
import copy
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from models import MODELS, build, demo_like_items, sync  # noqa: E402

from clear_bench.data.collator import Collator  # noqa: E402
from clear_bench.data.prompts import NAME_PROMPT  # noqa: E402
from clear_bench.eval.scoring import score_items  # noqa: E402
from clear_bench.models.lora import apply_lora, freeze_vision  # noqa: E402
from clear_bench.presets import get_preset  # noqa: E402
from clear_bench.training.loop import train  # noqa: E402

# paper setting, forget10, modality both (SPEC §1, §5)
TARGET_ROWS = 3768 + 4000
GOLD_ROWS = 3391 + 3600
FORGET_ROWS = 379 + 400
CAPTION_LIKE = 300 * 4
SHORT = 300 + 300 + 151 + 300
EVALS = 3


def timed(device, fn):
    sync(device)
    t = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - t


def finetune_cost(built, items, steps: int, device: str) -> float:
    """Seconds per training sample of the paper recipe (LoRA, batch 4, grouped, answer-only logits)."""
    preset = get_preset("paper")
    model = copy.deepcopy(built.model)
    freeze_vision(model)
    model = apply_lora(model, r=preset.lora_r, alpha=4 * preset.lora_r)
    coll = Collator(built.processor, answer_logits_only=True)
    bs = preset.finetune.batch_size

    def run(n):
        cfg = replace(preset.finetune, epochs=n * bs / len(items), warmup_epochs=0)
        train(model, items, coll, cfg, desc="finetune")

    run(2)
    return timed(device, lambda: run(steps)) / (steps * bs)


def unlearn_cost(built, items, pairs_n: int, device: str) -> float:
    """Seconds per forget row per epoch of NPO (forget + retain stream, reference log-probs cached)."""
    from clear_bench.baselines.registry import get_method
    from clear_bench.training.unlearn import make_pairs, unlearn

    preset = get_preset("paper")
    forget, retain = items[:pairs_n], items[pairs_n:] or items

    def run(n):
        cfg = replace(preset.unlearn, train=replace(preset.unlearn.train, epochs=1, warmup_epochs=0))
        unlearn(copy.deepcopy(built.model), built.processor, get_method("npo")(), make_pairs(forget[:n], retain, 0),
                cfg)

    run(8)
    return timed(device, lambda: run(pairs_n)) / pairs_n


def eval_cost(built, items, new_tokens: int, device: str) -> float:
    """Seconds per item: scoring every variant, then greedy generation of exactly `new_tokens` tokens."""
    model = built.model.eval()
    old = model.generation_config.min_new_tokens
    model.generation_config.min_new_tokens = new_tokens
    try:
        score_items(model, built.processor, items[:8], max_new_tokens=new_tokens)
        return timed(device, lambda: score_items(model, built.processor, items, max_new_tokens=new_tokens)) / len(items)
    finally:
        model.generation_config.min_new_tokens = old


def name_items(items):
    """Face->name-like items: the name prompt, a short answer and 4 short alternatives."""
    out = []
    for s in items:
        name = s.answer.split(" ")[0] + " " + s.answer.split(" ")[1]
        out.append(replace(s, question=NAME_PROMPT, answer=name, paraphrased_answer=None,
                           perturbed_answers=tuple(p.split(" ")[1] + " " + p.split(" ")[0]
                                                   for p in s.perturbed_answers[:4])))
    return out


def fmt(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.1f} s"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=sorted(MODELS), default="qwen2-vl-2b")
    p.add_argument("--device", default=None)
    p.add_argument("--steps", type=int, default=None, help="measured fine-tuning steps (default 40 GPU, 4 CPU)")
    p.add_argument("--items", type=int, default=None, help="measured eval items per kind (default 128 GPU, 16 CPU)")
    p.add_argument("--caption-tokens", type=int, default=48, help="generated tokens per caption-like answer")
    p.add_argument("--short-tokens", type=int, default=8, help="generated tokens per name / option answer")
    p.add_argument("--cap-tokens", type=int, default=300, help="the preset's generation cap (worst case)")
    p.add_argument("--layers", type=int, default=None, help="shrink the language model (smoke runs)")
    p.add_argument("--vision-layers", type=int, default=None)
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args(argv)
    device = args.device or ("cpu" if args.model.startswith("tiny") else "cuda")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("error: CUDA is not available; pass --device cpu (with --layers for a smoke run)")
    gpu = device.startswith("cuda")
    steps, n_items = args.steps or (40 if gpu else 4), args.items or (128 if gpu else 16)
    if args.threads:
        torch.set_num_threads(args.threads)
    import warnings

    import transformers

    transformers.logging.set_verbosity_error()
    warnings.filterwarnings("ignore", category=FutureWarning)
    full = not args.model.startswith("tiny")
    size = 448 if full else 32
    mixed = demo_like_items(max(4 * steps + 8, 64), size, long=True, text_fraction=4000 / 7768, seed=1)
    captions = demo_like_items(n_items, size, long=True, seed=2)
    torch.manual_seed(0)
    built = build(args.model, mixed + captions, device, args.layers, args.vision_layers)

    ft = finetune_cost(built, mixed, steps, device)
    un = unlearn_cost(built, mixed, min(len(mixed) // 2, 4 * steps), device)
    cap = eval_cost(built, captions, args.caption_tokens, device)
    short = eval_cost(built, name_items(captions), args.short_tokens, device)
    cap_worst = eval_cost(built, captions[:max(8, n_items // 4)], args.cap_tokens, device)
    rows = [("target fine-tune", f"{TARGET_ROWS} rows x 3 epochs", ft, TARGET_ROWS * 3 * ft),
            ("gold fine-tune", f"{GOLD_ROWS} rows x 3 epochs", ft, GOLD_ROWS * 3 * ft),
            ("unlearning (NPO)", f"{FORGET_ROWS} forget rows x 5 epochs", un, FORGET_ROWS * 5 * un),
            ("evaluation, caption-like", f"{EVALS} models x {CAPTION_LIKE} items", cap, EVALS * CAPTION_LIKE * cap),
            ("evaluation, short answers", f"{EVALS} models x {SHORT} items", short, EVALS * SHORT * short)]
    total = sum(r[3] for r in rows)
    worst = total + (cap_worst - cap) * CAPTION_LIKE  # the unlearned model's captions run to the 300-token cap
    where = torch.cuda.get_device_name() if gpu else f"CPU, {torch.get_num_threads()} threads"
    print(f"\n{built.name} on {where}; torch {torch.__version__}, transformers {transformers.__version__}")
    print("| phase | work | measured cost per unit | estimated time |\n|---|---|---|---|")
    for name, work, unit, seconds in rows:
        print(f"| {name} | {work} | {unit * 1e3:.1f} ms | {fmt(seconds)} |")
    print(f"| **total** | | | **{fmt(total)}** |")
    print(f"worst case (the unlearned model's {CAPTION_LIKE} caption-like answers all run to {args.cap_tokens} tokens: "
          f"{cap_worst * 1e3:.0f} ms/item): {fmt(worst)}")
    if gpu and full and args.layers is None:
        print(f"target: under 30 min -> {'met' if total < 1800 else 'missed'}")


if __name__ == "__main__":
    main()
