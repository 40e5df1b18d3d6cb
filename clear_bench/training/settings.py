"""The training and unlearning settings, free of torch: `--help`, presets and `ls` read them without loading the
stack (tests/test_cli_speed.py); `loop.py` and `unlearn.py` use them."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TrainConfig:
    """Optimisation settings (defaults: the paper's LoRA fine-tuning recipe, App. H).

    Attributes:
        epochs: passes over the data (may be fractional).
        lr: peak learning rate of AdamW.
        batch_size: samples per device per step.
        grad_accum: gradient accumulation steps (effective batch = batch_size x grad_accum x processes).
        weight_decay: AdamW weight decay.
        warmup_epochs: linear warm-up length in epochs (paper: one epoch), then linear decay to 0.
        max_grad_norm: gradient clipping (0 disables it).
        seed: shuffling and initialisation seed.
        group_by_length: batch items of similar length together (image rows with image rows, short text
            with short text), in shuffled order: less padding per batch at the same number of steps.
        compile: compile the language model's repeated blocks (the decoder layers) with `torch.compile`
            (regional compilation, dynamic shapes: `models/compiled.py`): one compilation per block type,
            reused by every layer and every sequence length. Fewer, fused kernels per step, which matters on a GPU
            where a 2B model at batch 4 is bound by kernel launches; the first step pays the compilation.
    """

    epochs: float = 3.0
    lr: float = 1e-5
    batch_size: int = 4
    grad_accum: int = 1
    weight_decay: float = 0.01
    warmup_epochs: float = 1.0
    max_grad_norm: float = 1.0
    seed: int = 42
    group_by_length: bool = False
    compile: bool = False

    def __post_init__(self):
        from ..errors import ClearBenchError

        problems = [f"{name} must be {rule} (got {value})" for name, value, ok, rule in (
            ("epochs", self.epochs, self.epochs > 0, "> 0"), ("lr", self.lr, self.lr > 0, "> 0"),
            ("batch_size", self.batch_size, self.batch_size >= 1, ">= 1"),
            ("grad_accum", self.grad_accum, self.grad_accum >= 1, ">= 1"),
            ("weight_decay", self.weight_decay, self.weight_decay >= 0, ">= 0"),
            ("warmup_epochs", self.warmup_epochs, self.warmup_epochs >= 0, ">= 0"),
            ("max_grad_norm", self.max_grad_norm, self.max_grad_norm >= 0, ">= 0 (0 disables clipping)")) if not ok]
        if problems:
            raise ClearBenchError("training settings: " + "; ".join(problems))



@dataclass
class UnlearnConfig:
    """How to unlearn (defaults: the paper's App. H: 5 epochs over the forget set, lr 1e-5, LoRA r 8 / alpha 32).

    The forget stream and size are the run's (`job.JobConfig.modality` / `forget`); records keep them beside these
    fields (`job.Job.unlearn_record`).

    Attributes:
        lora_r: rank of fresh LoRA adapters to unlearn through; 0 trains every weight.
        lora_alpha: LoRA scaling numerator.
        l1_lambda: λ of the L1 penalty λ·Σ|w| on the trainable LoRA weights (λ·Σ|θ−θ0| without LoRA).
        train: optimisation settings.
    """

    lora_r: int = 8
    lora_alpha: int = 32
    l1_lambda: float = 0.0
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=5, lr=1e-5, batch_size=4))


def with_overrides(config: UnlearnConfig, overrides: dict) -> UnlearnConfig:
    """`config` with the "unlearn" and "train" parts of a method's `demo_overrides` applied."""
    from dataclasses import replace

    return replace(config, **overrides.get("unlearn", {}), train=replace(config.train, **overrides.get("train", {})))
