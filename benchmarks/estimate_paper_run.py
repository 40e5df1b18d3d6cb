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
    PYTHONPATH=. python benchmarks/estimate_paper_run.py --preset demo         # CPU: compare with a demo run
"""
from __future__ import annotations

import argparse
import copy
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from models import MODELS, build, demo_like_items, timed  # noqa: E402

from clear_bench.data.collator import Collator  # noqa: E402
from clear_bench.data.prompts import NAME_PROMPT  # noqa: E402
from clear_bench.eval.scoring import score_items  # noqa: E402
from clear_bench.models.lora import apply_lora, freeze_vision  # noqa: E402
from clear_bench.presets import get_preset  # noqa: E402
from clear_bench.training.loop import train  # noqa: E402

@dataclass
class Workload:
    """Rows each phase processes per epoch, epochs, and evaluated items by kind (per evaluated model)."""

    target_rows: int
    gold_rows: int
    forget_rows: int
    caption_like: int  # items with a long answer and 7 variants: captions, TOFU QA
    short: int  # name / option items
    evals: int = 3  # gold, target, unlearned


# paper setting, forget10, modality both (paper section 5): every task capped at 300 items
PAPER = Workload(target_rows=3768 + 4000, gold_rows=3391 + 3600, forget_rows=379 + 400, caption_like=300 * 4,
                 short=300 + 300 + 151 + 300)
CAPTION_TASKS = ("forget_captions", "retain_captions", "tofu_forget", "tofu_retain", "holdout_captions",
                 "tofu_holdout")


def demo_workload(preset) -> Workload:
    """The demo preset's sizes, read from its generated data (what `clear-eval --preset demo` processes)."""
    from clear_bench.data.sources import DataSource
    from clear_bench.eval.run import resolve_tasks
    from clear_bench.presets import demo_data_dir

    src = DataSource.from_path(demo_data_dir())
    replay = len(src.load("clear", "real_faces")) + len(src.load("clear", "real_world")) \
        if preset.finetune_replay else 0
    items = {t.name: min(preset.eval_cap, len(src.load(t.dataset, t.config_for(10))))
             for t in resolve_tasks(src, None, 10)}
    return Workload(target_rows=len(src.load("clear", "full+tofu")) + replay,
                    gold_rows=len(src.load("clear", "retain90+tofu")) + replay,
                    forget_rows=len(src.load("clear", "forget10+tofu")),
                    caption_like=sum(n for t, n in items.items() if t in CAPTION_TASKS),
                    short=sum(n for t, n in items.items() if t not in CAPTION_TASKS))


def finetune_cost(preset, built, items, steps: int, device: str, compile: bool | None = None) -> float:
    """Seconds per training sample of the preset's recipe (paper: LoRA, batch 4, grouped, answer-only logits);
    `compile` overrides the recipe's `TrainConfig.compile`."""
    model = copy.deepcopy(built.model)
    freeze_vision(model)
    if preset.lora_r:
        model = apply_lora(model, r=preset.lora_r, alpha=4 * preset.lora_r)
    coll = Collator(built.processor, answer_logits_only=True)
    bs = preset.finetune.batch_size

    compiled = preset.finetune.compile if compile is None else compile

    def run(n):
        cfg = replace(preset.finetune, epochs=n * bs / len(items), warmup_epochs=0, compile=compiled)
        train(model, items, coll, cfg, desc="finetune")

    run(steps if compiled else 2)  # compiled: the same batches first, so every shape is compiled before timing
    return timed(device, lambda: run(steps))[0] / (steps * bs)


def unlearn_cost(preset, built, items, pairs_n: int, device: str) -> float:
    """Seconds per forget row per epoch of NPO (forget + retain stream, reference log-probs cached)."""
    from clear_bench.baselines.registry import get_method
    from clear_bench.training.unlearn import make_pairs, unlearn

    forget, retain = items[:pairs_n], items[pairs_n:] or items

    def run(n):
        cfg = replace(preset.unlearn, train=replace(preset.unlearn.train, epochs=1, warmup_epochs=0))
        unlearn(copy.deepcopy(built.model), built.processor, get_method("npo")(), make_pairs(forget[:n], retain, 0),
                cfg)

    run(8)
    return timed(device, lambda: run(pairs_n))[0] / pairs_n


def eval_cost(built, items, new_tokens: int, device: str) -> float:
    """Seconds per item: scoring every variant, then greedy generation of exactly `new_tokens` tokens."""
    model = built.model.eval()
    old = model.generation_config.min_new_tokens
    model.generation_config.min_new_tokens = new_tokens
    try:
        score_items(model, built.processor, items[:8], max_new_tokens=new_tokens)
        seconds, _ = timed(device, lambda: score_items(model, built.processor, items, max_new_tokens=new_tokens))
        return seconds / len(items)
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
    p.add_argument("--preset", choices=("paper", "demo"), default="paper",
                   help="paper: the published sizes; demo: the offline demo's (to check the estimate against a run)")
    p.add_argument("--model", choices=sorted(MODELS), default=None,
                   help="default: qwen2-vl-2b (paper), tiny-llava (demo)")
    p.add_argument("--device", default=None)
    p.add_argument("--steps", type=int, default=None, help="measured fine-tuning steps (default 40 GPU, 4 CPU)")
    p.add_argument("--items", type=int, default=None, help="measured eval items per kind (default 128 GPU, 16 CPU)")
    p.add_argument("--caption-tokens", type=int, default=None,
                   help="generated tokens per caption-like answer (default 48 paper, 16 demo)")
    p.add_argument("--short-tokens", type=int, default=None, help="per name / option answer (default 8 / 4)")
    p.add_argument("--cap-tokens", type=int, default=None, help="worst case: the preset's generation cap")
    p.add_argument("--layers", type=int, default=None, help="shrink the language model (smoke runs)")
    p.add_argument("--vision-layers", type=int, default=None)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--json", default=None, metavar="FILE",
                   help="also write the unit costs and the workload to FILE, for `clear-bench reproduce --dry-run "
                        "--unit-costs FILE` (its GPU-hours estimate of a grid)")
    args = p.parse_args(argv)
    preset = get_preset(args.preset)
    paper = args.preset == "paper"
    model_name = args.model or ("qwen2-vl-2b" if paper else "tiny-llava")
    device = args.device or ("cpu" if model_name.startswith("tiny") else "cuda")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("error: CUDA is not available; pass --device cpu (with --layers for a smoke run)")
    gpu = device.startswith("cuda")
    steps, n_items = args.steps or (40 if gpu else 4), args.items or (128 if gpu else 16)
    cap_tokens = args.caption_tokens or (48 if paper else 16)
    short_tokens = args.short_tokens or (8 if paper else 4)
    worst_tokens = args.cap_tokens or preset.max_new_tokens
    if args.threads:
        torch.set_num_threads(args.threads)
    import warnings

    import transformers

    transformers.logging.set_verbosity_error()
    warnings.filterwarnings("ignore", category=FutureWarning)
    work = PAPER if paper else demo_workload(preset)
    full = not model_name.startswith("tiny")
    size = 448 if full else 32
    bs = preset.finetune.batch_size
    mixed = demo_like_items(max(bs * steps + 8, 64), size, long=paper, text_fraction=0.5, seed=1)
    captions = demo_like_items(n_items, size, long=paper, seed=2)
    torch.manual_seed(0)
    built = build(model_name, mixed + captions, device, args.layers, args.vision_layers)

    ft = finetune_cost(preset, built, mixed, steps, device)
    ft_other = finetune_cost(preset, built, mixed, steps, device, compile=not preset.finetune.compile)
    un = unlearn_cost(preset, built, mixed, min(len(mixed) // 2, 4 * steps), device)
    cap = eval_cost(built, captions, cap_tokens, device)
    short = eval_cost(built, name_items(captions), short_tokens, device)
    cap_worst = eval_cost(built, captions[:max(8, n_items // 4)], worst_tokens, device)
    ft_epochs, un_epochs = preset.finetune.epochs, preset.unlearn.train.epochs
    rows = [("target fine-tune", f"{work.target_rows} rows x {ft_epochs:g} epochs", ft,
             work.target_rows * ft_epochs * ft),
            ("gold fine-tune", f"{work.gold_rows} rows x {ft_epochs:g} epochs", ft, work.gold_rows * ft_epochs * ft),
            ("unlearning (NPO)", f"{work.forget_rows} forget rows x {un_epochs:g} epochs", un,
             work.forget_rows * un_epochs * un),
            ("evaluation, caption-like", f"{work.evals} models x {work.caption_like} items", cap,
             work.evals * work.caption_like * cap),
            ("evaluation, short answers", f"{work.evals} models x {work.short} items", short,
             work.evals * work.short * short)]
    total = sum(r[3] for r in rows)
    if args.json:
        import dataclasses
        import json

        Path(args.json).write_text(json.dumps({
            "device": torch.cuda.get_device_name() if gpu else "CPU", "model": built.name, "preset": args.preset,
            "finetune_s_per_sample": ft, "unlearn_s_per_row": un, "caption_s_per_item": cap,
            "short_s_per_item": short, "finetune_epochs": ft_epochs, "unlearn_epochs": un_epochs,
            "workload": dataclasses.asdict(work)}, indent=1))
    worst = total + (cap_worst - cap) * work.caption_like  # the unlearned model's answers run to the cap
    where = torch.cuda.get_device_name() if gpu else f"CPU, {torch.get_num_threads()} threads"
    print(f"\n{args.preset} preset, {built.name} on {where}; torch {torch.__version__}, "
          f"transformers {transformers.__version__}")
    print("| phase | work | measured cost per unit | estimated time |\n|---|---|---|---|")
    for name, what, unit, seconds in rows:
        print(f"| {name} | {what} | {unit * 1e3:.1f} ms | {fmt(seconds)} |")
    print(f"| **total** | | | **{fmt(total)}** |")
    print(f"worst case (the unlearned model's {work.caption_like} caption-like answers all run to {worst_tokens} "
          f"tokens: {cap_worst * 1e3:.0f} ms/item): {fmt(worst)}")
    other = (work.target_rows + work.gold_rows) * ft_epochs * (ft_other - ft)
    print(f"with fine-tuning {'eager' if preset.finetune.compile else 'compiled (TrainConfig.compile)'} instead: "
          f"{ft_other * 1e3:.1f} ms per sample, total {fmt(total + other)} (compilation itself not counted)")
    print(f"with the overheads the unit costs leave out (20-40 % on the demo, benchmarks/README.md): "
          f"{fmt(1.2 * total)} to {fmt(1.4 * total)}")
    if paper and gpu and full and args.layers is None:
        def verdict(t):
            return "met" if 1.4 * t < 1800 else "met before overheads" if t < 1800 else "missed"

        alt = "eager" if preset.finetune.compile else "compiled"
        print(f"target: under 30 min -> {verdict(total)} as the preset runs; {verdict(total + other)} {alt}")


if __name__ == "__main__":
    main()
