"""Fine-tuning throughput: the plain Hugging Face Trainer path vs clear-bench's loop, in one run.

Plain path (what the reference code does): `transformers.Trainer`, right padding, the model's own
loss over full-vocabulary logits at every position, at the paper's batch size 4.
Ours: the accelerate loop with answer-only logits (left padding + `logits_to_keep`), at batch 4 and
at a larger batch. Printed side by side: tokens/s, samples/s, peak memory, and MFU on a GPU.

CPU: the tiny LLaVA on demo-like items. The GPU half (Qwen2-VL-2B architecture with random bf16
weights, LoRA r 8, the setting of ../shared/notes/PERF.md) is not written yet: no GPU session so far.

    PYTHONPATH=. python benchmarks/bench_finetune.py
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from bench_scoring import demo_like_items  # noqa: E402

from clear_bench.data.collator import Collator  # noqa: E402
from clear_bench.training.loop import TrainConfig, train  # noqa: E402


def tokens_in(samples, collate, batch_size) -> int:
    n = 0
    for i in range(0, len(samples), batch_size):
        n += int(collate(samples[i:i + batch_size])["attention_mask"].sum())
    return n


def peak_memory_gb(device: str) -> float:
    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def plain_trainer(model, proc, samples, batch_size: int, steps: int, device: str) -> float:
    """Seconds for `steps` optimizer steps of transformers.Trainer with full logits and right padding."""
    import tempfile

    from transformers import Trainer, TrainingArguments

    args = TrainingArguments(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=batch_size, max_steps=steps,
                             learning_rate=1e-5, report_to=[], save_strategy="no", logging_strategy="no",
                             remove_unused_columns=False, bf16=device.startswith("cuda"), dataloader_num_workers=0,
                             disable_tqdm=True, use_cpu=not device.startswith("cuda"))
    trainer = Trainer(model=model, args=args, train_dataset=list(samples), data_collator=Collator(proc))
    t = time.perf_counter()
    trainer.train()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - t


def ours(model, proc, samples, batch_size: int, steps: int, device: str) -> float:
    cfg = TrainConfig(epochs=steps * batch_size / len(samples), lr=1e-5, batch_size=batch_size, warmup_epochs=0)
    t = time.perf_counter()
    train(model, samples, Collator(proc, answer_logits_only=True), cfg, desc="bench")
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - t


def bench(name: str, build, samples, device: str, steps: int, big_batch: int, flops_per_token: float | None):
    rows = []
    for label, fn, bs in (("plain HF Trainer", plain_trainer, 4), ("ours", ours, 4), ("ours", ours, big_batch)):
        model, proc = build()
        if device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        fn(model, proc, samples, bs, 2, device)  # warm-up
        seconds = fn(model, proc, samples, bs, steps, device)
        n_samples = steps * bs
        toks = tokens_in((samples * (n_samples // len(samples) + 1))[:n_samples], Collator(proc), bs)
        mfu = "" if flops_per_token is None else f"{100 * flops_per_token * toks / seconds / 989e12:.1f} %"
        rows.append((label, bs, toks / seconds, n_samples / seconds, peak_memory_gb(device), mfu))
        del model
    print(f"\n{name} on {device}, {steps} steps")
    print(f"{'path':18} {'batch':>5} {'tokens/s':>10} {'samples/s':>10} {'peak GiB':>9} {'MFU':>7}")
    for label, bs, tps, sps, mem, mfu in rows:
        print(f"{label:18} {bs:>5} {tps:>10.0f} {sps:>10.2f} {mem:>9.2f} {mfu:>7}")
    base = rows[0][2]
    print("speed-up vs plain: " + ", ".join(f"{r[0]} bs {r[1]}: {r[2] / base:.2f}x" for r in rows[1:]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    samples = demo_like_items(64, 32)

    def tiny():
        from clear_bench.models.tiny import build_tiny_vlm

        corpus = [s.question + " " + s.answer for s in samples] + list(a for s in samples for a in s.perturbed_answers)
        return build_tiny_vlm(corpus, vocab_size=1024)

    bench("tiny LLaVA (4.5M, full fine-tuning)", tiny, samples, "cpu", args.steps, 16, None)


if __name__ == "__main__":
    main()
