"""LoRA fine-tuning throughput: the plain Hugging Face Trainer path vs clear-bench's loop, in one run.

Plain path (what the reference code does): `transformers.Trainer` on a peft model, right padding,
the model's own loss over full-vocabulary logits at every position, shuffled batches, at the
paper's batch size 4. Ours: the accelerate loop with answer-only logits (left padding +
`logits_to_keep`) and length-grouped batches, at batch 4 (eager, then with the decoder layers
compiled: `TrainConfig.compile`) and at a larger batch. Both train LoRA r 8
on every linear layer of the language model but the LM head, vision tower frozen, on the same
mix of caption rows (one image each) and text-only QA rows as `full+tofu` (about half each).

Printed side by side: real (non-padding) tokens/s, samples/s, peak memory, padding share, and on
a GPU the model FLOPs utilisation: MFU = (4 x N_lm x tokens + 2 x N_vision x patches) / time /
peak bf16 FLOP/s (LoRA: no weight gradients for the frozen base, so 4 N per token, not 6 N).

    PYTHONPATH=. python benchmarks/bench_finetune.py                        # CPU, tiny LLaVA
    PYTHONPATH=. python benchmarks/bench_finetune.py --model qwen2-vl-2b    # GPU, the setting of benchmarks/README.md
    PYTHONPATH=. python benchmarks/bench_finetune.py --model qwen2-vl-2b --device cpu --layers 1 \\
        --vision-layers 1 --steps 2                                         # smoke run of the GPU path
"""
from __future__ import annotations

import argparse
import gc
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from models import MODELS, build, demo_like_items, gpu_peak_tflops, peak_memory_gib, timed  # noqa: E402

from clear_bench.data.collator import Collator  # noqa: E402
from clear_bench.models.lora import apply_lora, freeze_vision  # noqa: E402
from clear_bench.training.loop import TrainConfig, train  # noqa: E402


class Counting:
    """Wraps a collate function and counts what the model is fed: real tokens, padding, image patches."""

    def __init__(self, collate, image_token_id: int | None):
        self.collate = collate
        self.image_token_id = image_token_id
        self.reset()

    def reset(self):
        self.tokens = self.padding = self.patches = self.samples = 0

    def __call__(self, samples):
        out = self.collate(samples)
        mask = out["attention_mask"]
        self.tokens += int(mask.sum())
        self.padding += int((mask == 0).sum())
        self.samples += len(samples)
        if "image_grid_thw" in out:  # Qwen2-VL: patches before the 2x2 merge
            self.patches += int(out["image_grid_thw"].prod(-1).sum())
        elif "pixel_values" in out:  # LLaVA: one patch per image token
            self.patches += int((out["input_ids"] == self.image_token_id).sum())
        return out


def lora_model(built, r: int):
    model = built.model
    freeze_vision(model)
    return apply_lora(model, r=r, alpha=4 * r)


def plain_trainer(model, proc, samples, batch_size: int, steps: int, device: str, counting: Counting) -> float:
    """Seconds for `steps` optimizer steps of transformers.Trainer (full logits, right padding)."""
    from transformers import Trainer, TrainingArguments

    cuda = device.startswith("cuda")
    args = TrainingArguments(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=batch_size, max_steps=steps,
                             learning_rate=1e-5, report_to=[], save_strategy="no", logging_strategy="no",
                             remove_unused_columns=False, bf16=cuda, dataloader_num_workers=0, disable_tqdm=True,
                             use_cpu=not cuda, warmup_steps=0)
    trainer = Trainer(model=model, args=args, train_dataset=list(samples), data_collator=counting)
    return timed(device, trainer.train)[0]


def ours(model, proc, samples, batch_size: int, steps: int, device: str, counting: Counting,
         compile: bool = False) -> float:
    cfg = TrainConfig(epochs=steps * batch_size / len(samples), lr=1e-5, batch_size=batch_size, warmup_epochs=0,
                      group_by_length=True, compile=compile)
    return timed(device, lambda: train(model, samples, counting, cfg, desc="bench"))[0]


def ours_compiled(*args) -> float:
    return ours(*args, compile=True)


def run(args) -> None:
    device = args.device
    samples = demo_like_items(args.samples, 448 if not args.model.startswith("tiny") else 32, long=True,
                              text_fraction=0.5)
    peak = gpu_peak_tflops() if device.startswith("cuda") else 0.0
    rows, name, notes = [], args.model, []
    paths = [("plain HF Trainer", plain_trainer, 4, False), ("ours", ours, 4, True),
             ("ours", ours, args.big_batch, True)]
    if not args.no_compile:
        paths.insert(2, ("ours, compiled blocks", ours_compiled, 4, True))
    for label, fn, bs, answer_only in paths:
        built = build(args.model, samples, device, args.layers, args.vision_layers)
        name = built.name
        model = lora_model(built, args.lora_r)
        counting = Counting(Collator(built.processor, answer_logits_only=answer_only),
                            getattr(built.model.config, "image_token_id", None))
        n = steps_samples = args.steps * bs
        if len(samples) < n:
            raise SystemExit(f"--samples {len(samples)} < steps x batch {n}")
        # Compiled blocks compile once per input kind (text / image rows, first layer / the rest): the warm-up
        # runs the very batches measured next (the loop's order depends on the seed only), so the figure is the
        # steady state of a long run; the one-time compilation is printed apart.
        warm = timed(device, lambda: fn(model, built.processor, samples, bs,
                                        args.steps if fn is ours_compiled else args.warmup, device, counting))[0]
        if fn is ours_compiled:
            notes.append(f"compiled blocks: the first {args.steps} steps (compiling) took {warm:.1f} s")
        counting.reset()
        if device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        seconds = fn(model, built.processor, samples, bs, args.steps, device, counting)
        flops = 4 * built.lm_params * counting.tokens + 2 * built.vision_params * counting.patches
        mfu = f"{100 * flops / seconds / (peak * 1e12):.1f} %" if peak else "-"
        pad = counting.padding / max(1, counting.tokens + counting.padding)
        rows.append((label, bs, counting.tokens / seconds, steps_samples / seconds, peak_memory_gib(device),
                     f"{100 * pad:.0f} %", mfu))
        del model, built, counting
        gc.collect()
        if device.startswith("cuda"):
            torch.cuda.empty_cache()
    print(f"\n{name}, LoRA r {args.lora_r}, on {device}"
          f"{' (' + torch.cuda.get_device_name() + ')' if device.startswith('cuda') else ''}, {args.steps} steps")
    print(f"| path | batch | tokens/s | samples/s | peak GiB | padding | MFU |\n|---|---|---|---|---|---|---|")
    for label, bs, tps, sps, mem, pad, mfu in rows:
        print(f"| {label} | {bs} | {tps:,.0f} | {sps:.2f} | {mem:.1f} | {pad} | {mfu} |")
    base = rows[0][2]
    print("speed-up vs plain: " + ", ".join(f"{r[0]} bs {r[1]}: {r[2] / base:.2f}x" for r in rows[1:]))
    for note in notes:
        print(note)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=sorted(MODELS), default="tiny-llava")
    p.add_argument("--device", default=None, help="default: cuda for full-size models, cpu for tiny ones")
    p.add_argument("--steps", type=int, default=None, help="measured steps per path (default: 20 CPU, 30 GPU)")
    p.add_argument("--warmup", type=int, default=2, help="unmeasured steps first (compilation, allocator)")
    p.add_argument("--big-batch", type=int, default=16)
    p.add_argument("--no-compile", action="store_true", help="leave out the compiled-blocks path")
    p.add_argument("--samples", type=int, default=512)
    p.add_argument("--lora-r", type=int, default=8)
    p.add_argument("--layers", type=int, default=None, help="shrink the language model (smoke runs)")
    p.add_argument("--vision-layers", type=int, default=None, help="shrink the vision tower (smoke runs)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    args = p.parse_args(argv)
    if args.device is None:
        args.device = "cpu" if args.model.startswith("tiny") else "cuda"
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("error: CUDA is not available; pass --device cpu (with --layers for a smoke run)")
    if args.steps is None:
        args.steps = 30 if args.device.startswith("cuda") else 20
    if args.threads:
        torch.set_num_threads(args.threads)
    import transformers

    transformers.logging.set_verbosity_error()
    torch.manual_seed(0)
    run(args)


if __name__ == "__main__":
    main()
