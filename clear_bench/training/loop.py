"""One training loop for fine-tuning and unlearning, on `accelerate` (single device, DDP, FSDP, DeepSpeed).

The loop knows nothing about methods: it asks a `loss_fn(model, batch, step) -> Tensor` for the
loss of each batch. Fine-tuning uses the model's own answer-token cross-entropy.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .settings import TrainConfig  # noqa: F401  (re-exported: its old home)

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    steps: int = 0
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0


def length_key(item) -> tuple[bool, int]:
    """Sort key approximating an item's token count: image rows apart, then text length in characters.
    Unlearning items are dicts of streams; their forget sample decides."""
    s = item["forget"] if isinstance(item, dict) else item
    return (s.has_image, len(s.question) + len(s.answer))


class LengthGroupedBatches:
    """Batch sampler: shuffle, sort windows of 64 batches by `length_key`, cut batches, shuffle the batches.

    Every item appears once per epoch; the order depends only on the generator's state (the loop
    re-seeds it per epoch, so resumed runs see the same batches)."""

    WINDOW = 64

    def __init__(self, items: Sequence, batch_size: int, generator: torch.Generator):
        self.keys = [length_key(x) for x in items]
        self.batch_size = batch_size
        self.generator = generator

    def __len__(self) -> int:
        return math.ceil(len(self.keys) / self.batch_size)

    def __iter__(self):
        perm = torch.randperm(len(self.keys), generator=self.generator).tolist()
        span = self.WINDOW * self.batch_size
        batches = []
        for start in range(0, len(perm), span):
            window = sorted(perm[start:start + span], key=lambda i: self.keys[i])
            batches += [window[i:i + self.batch_size] for i in range(0, len(window), self.batch_size)]
        for b in torch.randperm(len(batches), generator=self.generator).tolist():
            yield batches[b]


def linear_schedule(optimizer, warmup: int, total: int):
    def factor(step: int) -> float:
        if warmup > 0 and step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def default_loss(model, batch, step):
    """Mean answer-token cross-entropy (what `model(**batch).loss` computes, but on cropped logits too)."""
    from .context import model_logits
    from .losses import cross_entropy

    return cross_entropy(model_logits(model, batch), batch["labels"])


PROGRESS = "progress.json"
LOG_EVERY = 16  # steps between reading losses back from the device (each read waits for the GPU to catch up)


def _save_checkpoint(accelerator, folder: Path, step: int, epoch: int, losses: list[float], collate,
                     extra: dict | None = None) -> None:
    """Model, optimizer, scheduler and RNG states after `epoch` epochs, written atomically; also the collate
    function's own state when it has one (`state_dict`: e.g. the Collator's caption-request generator), and
    that of each `extra` object (e.g. the efficiency clock)."""
    from ..utils import atomic_dir, atomic_write_json

    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        with atomic_dir(folder) as tmp:
            accelerator.save_state(str(tmp), safe_serialization=True)
            state = collate.state_dict() if hasattr(collate, "state_dict") else {}
            atomic_write_json(tmp / PROGRESS, {"step": step, "epoch": epoch, "losses": losses, "collate": state,
                                               "extra": {k: v.state_dict() for k, v in (extra or {}).items()}})
    accelerator.wait_for_everyone()


def make_accelerator(grad_accum: int = 1):
    """The accelerator every clear-bench run uses. Under DDP some weights get no gradient in a step: a
    text-only batch never reaches the image projector (length-grouped batches make such batches common),
    and a vision tower's last norm may go unused; DDP is told to allow that."""
    from accelerate import Accelerator, DataLoaderConfiguration, DistributedDataParallelKwargs

    # non_blocking: batches (pinned on CUDA) copy to the device without the host waiting for the GPU's queue
    return Accelerator(gradient_accumulation_steps=grad_accum,
                       dataloader_config=DataLoaderConfiguration(non_blocking=True),
                       kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)])


def train(model, dataset: Sequence, collate: Callable, config: TrainConfig, accelerator=None,
          loss_fn: Callable = default_loss, params=None, desc: str = "train",
          on_step: Callable | None = None, checkpoint_dir: str | Path | None = None,
          extra_state: dict | None = None) -> TrainResult:
    """Train `model` on `dataset` (a sequence of items `collate` turns into a batch).

    `params` defaults to every parameter with requires_grad. `on_step(step)` is called after every
    optimiser step and may raise to stop. With `checkpoint_dir`, the state is saved after every
    epoch and a killed run resumes from the last finished epoch; the shuffling order depends only
    on (seed, epoch), so a resumed run ends where an uninterrupted one does. `extra_state` names objects
    with `state_dict` / `load_state_dict` saved and restored with the checkpoint.

    Losses are read back from the device every `LOG_EVERY` steps and at epoch ends, not after each
    step: the host then queues the next batch while the GPU still computes the current one.
    """
    import json
    import time

    from torch.utils.data import DataLoader
    from ..progress import progress_bar

    accelerator = accelerator or make_accelerator(config.grad_accum)
    cuda = accelerator.device.type == "cuda"
    gen = torch.Generator().manual_seed(config.seed)
    items = list(dataset)
    # pinned host memory: batches copy to the GPU without waiting for the work queued before them
    common = dict(collate_fn=collate, num_workers=0, pin_memory=cuda)
    if config.group_by_length:
        loader = DataLoader(items, batch_sampler=LengthGroupedBatches(items, config.batch_size, gen), **common)
    else:
        loader = DataLoader(items, batch_size=config.batch_size, shuffle=True, generator=gen, **common)
    params = [p for p in (params if params is not None else model.parameters()) if p.requires_grad]
    if not params:
        raise ValueError("nothing to train: no parameter requires grad")
    opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay, fused=cuda or None)
    per_epoch = max(1, math.ceil(len(loader) / max(1, accelerator.num_processes) / config.grad_accum))
    total = max(1, math.ceil(per_epoch * config.epochs))
    sched = linear_schedule(opt, int(per_epoch * config.warmup_epochs), total)
    if config.compile:
        from ..models.compiled import compile_blocks

        model = compile_blocks(model, dynamic=True)  # shares the parameters; unwrap_model returns the original
    model, opt, loader, sched = accelerator.prepare(model, opt, loader, sched)
    model.train()
    result, t0, step, epoch = TrainResult(), time.time(), 0, 0
    ckpt = Path(checkpoint_dir) if checkpoint_dir is not None else None
    if ckpt is not None and (ckpt / PROGRESS).exists():  # (after the last epoch too: the caller removes it)
        accelerator.load_state(str(ckpt))
        progress = json.loads((ckpt / PROGRESS).read_text())
        step, epoch, result.losses = progress["step"], progress["epoch"], progress["losses"]
        if progress.get("collate") and hasattr(collate, "load_state_dict"):
            collate.load_state_dict(progress["collate"])
        for name, obj in (extra_state or {}).items():
            if name in progress.get("extra", {}):
                obj.load_state_dict(progress["extra"][name])
        log.info("%s: resuming from the checkpoint after epoch %d (step %d)", desc, epoch, step)
    # a bar on a terminal, a log line per tenth of the steps elsewhere (progress.py)
    bar = progress_bar(total=total, initial=step, desc=desc, disable=not accelerator.is_local_main_process)
    pending: list[torch.Tensor] = []  # losses of the steps not yet read back

    def read_losses():
        if pending:
            result.losses.extend(torch.stack(pending).float().tolist())
            pending.clear()
            bar.set_postfix(loss=f"{result.losses[-1]:.3f}")

    while step < total:
        gen.manual_seed(config.seed * 1000 + epoch)
        if hasattr(collate, "set_epoch"):  # e.g. unlearning pairs, redrawn per epoch (training/unlearn.py)
            collate.set_epoch(epoch)
        for batch in loader:
            with accelerator.accumulate(model):
                loss = loss_fn(model, batch, step)
                accelerator.backward(loss)
                if accelerator.sync_gradients and config.max_grad_norm:
                    accelerator.clip_grad_norm_(params, config.max_grad_norm)
                opt.step()
                sched.step()
                opt.zero_grad(set_to_none=True)
            if accelerator.sync_gradients:
                pending.append(loss.detach())
                if on_step is not None:
                    on_step(step)
                step += 1
                bar.update(1)
                if len(pending) >= LOG_EVERY:
                    read_losses()
                if step >= total:
                    break
        epoch += 1
        read_losses()
        if ckpt is not None:
            _save_checkpoint(accelerator, ckpt, step, epoch, result.losses, collate, extra_state)
    bar.close()
    result.steps, result.seconds = step, time.time() - t0
    return result
