"""RMU: steer the forget activations at one layer to a fixed random direction, keep retain activations."""
import logging
from dataclasses import dataclass

import torch

from ..config import setting
from ..errors import ClearBenchError
from .base import UnlearningMethod
from .losses import IGNORE, masked_mse
from .registry import register

log = logging.getLogger(__name__)


@dataclass
class RMUConfig:
    """RMU hyper-parameters (Li et al. 2024, WMDP §5: ℓ=7, c=6.5, α=1200 for Zephyr-7B; the CLEAR reference used
    c=300).

    The steering coefficient must be large next to the activation norm at layer ℓ, which differs by orders of
    magnitude between models (a 4.5M demo model, a 2B Qwen2-VL, a 7B LLaVA), so by default it is set per model:
    before training, the mean per-token L2 norm of the layer-ℓ output over the forget items' answer and image
    positions is measured on the model at hand, and c = `norm_multiplier` x that norm (the adaptive rule of Dang
    et al. 2025, "On effects of steering latent representation for LLM unlearning"). The measured norm and the c
    used are recorded in the run's `unlearn.json` (`info.rmu`).

    Both losses cover the answer tokens and image tokens only: the chat template and the question are shared by
    forget and retain rows, so steering them would fight the retain loss and dilute the forget one.

    Attributes:
        layer: ℓ, index of the language-model layer whose output is steered; -1 picks a quarter of the depth.
        steering_coeff: c, the norm of the control vector c·u; 0 sets it from the measured activation norm.
        norm_multiplier: c / (mean per-token activation norm at ℓ on the forget items), used when
            `steering_coeff` is 0. 4 was chosen on the demo models (both architectures: forget activations turn
            to u, tests/test_method_effects.py); it is not tuned on a paper-size model.
        alpha: α, weight of the retain activation-matching loss.
        trained_layers: how many layers up to ℓ train (ℓ-k+1 ... ℓ); everything else stays frozen.
        seed: seed of the random unit vector u.
    """

    layer: int = setting(-1, ge=-1, note="-1 = a quarter of the depth")
    steering_coeff: float = setting(0.0, ge=0, note="0 = from the measured norm")
    norm_multiplier: float = setting(4.0, gt=0)
    alpha: float = setting(100.0, ge=0)
    trained_layers: int = setting(3, ge=1)
    seed: int = setting(0, ge=0)


def _lm_config(model):
    cfg = model.config
    return getattr(cfg, "text_config", cfg)


def steered_positions(inputs: dict, image_token_id: int | None) -> torch.Tensor:
    """(B, L) mask of the positions RMU's losses read: answer tokens (labels, possibly cropped to the last K
    positions by the collator) and image tokens."""
    ids = inputs["input_ids"]
    labels = inputs["labels"]
    mask = torch.zeros_like(ids, dtype=torch.bool)
    mask[:, ids.shape[1] - labels.shape[1]:] = labels != IGNORE
    if image_token_id is not None:
        mask |= ids == image_token_id
    return mask & inputs["attention_mask"].bool()


def image_token_id(model) -> int | None:
    cfg = model.config
    return getattr(cfg, "image_token_id", None) or getattr(cfg, "image_token_index", None)


@register
class RMU(UnlearningMethod):
    name = "rmu"
    Config = RMUConfig
    streams = ("forget", "retain")
    needs_reference = True
    paper = "Li et al. 2024, 'The WMDP benchmark', Eq. 1-2 (Representation Misdirection for Unlearning)"
    # The demo model has 4 layers: at layer 1 (a quarter of the depth) forget and retain persons' captions are
    # still nearly the same token-level activations, so α = 100 holds the forget ones in place too (cosine to u
    # stays < 0.1). Layer 2 carries enough context to tell them apart; α = 10 and lr 1e-2 let 30 steps reach
    # the control vector (tests/test_method_effects.py).
    demo_overrides = {"train": {"lr": 1e-2}, "method": {"layer": 2, "alpha": 10.0}}

    def _layer(self, model) -> int:
        """ℓ; on a model with cross-attention image layers (Mllama) a layer below the first of them: transformers
        skips those layers for a batch without images and leaves them out of `hidden_states`, so above the first
        one index ℓ + 1 names another layer in a text-only batch (`models/cross_attention.py`)."""
        from ..models.cross_attention import cross_attention_layers

        n = _lm_config(model).num_hidden_layers
        first_cross = min(cross_attention_layers(model), default=n)
        if self.config.layer >= 0:
            if self.config.layer >= first_cross:
                raise ClearBenchError(f"rmu layer {self.config.layer} is at or above the first cross-attention layer "
                                      f"({first_cross}), which a text-only batch skips; choose a layer below it")
            return self.config.layer
        return min(max(0, n // 4), max(0, first_cross - 1))

    @torch.no_grad()
    def forget_activation_norm(self, model, ctx, batch_size: int = 8) -> float:
        """Mean per-token L2 norm of the reference's layer-ℓ output over the forget items' steered positions."""
        from ..data.collator import Collator

        if not ctx.inputs.forget or ctx.processor is None:
            raise ClearBenchError("rmu steering_coeff=0 measures the activation norm on the forget items; the "
                                  "runner passed none (set steering_coeff > 0 instead)")
        collate = Collator(ctx.processor, answer_logits_only=True)
        device = next(ctx.unwrap(model).parameters()).device
        total, count = 0.0, 0
        for i in range(0, len(ctx.inputs.forget), batch_size):
            batch = {k: v.to(device) if torch.is_tensor(v) else v
                     for k, v in collate(ctx.inputs.forget[i:i + batch_size]).items()}
            h = ctx.reference_hidden(model, batch, self.l + 1)
            mask = steered_positions(batch, self.image_token)
            total += float(h.float().norm(dim=-1)[mask].sum())
            count += int(mask.sum())
        return total / max(1, count)

    def setup(self, model, ctx):
        base = ctx.unwrap(model)
        hidden = _lm_config(base).hidden_size
        self.l = self._layer(base)
        self.image_token = image_token_id(base)
        c = self.config.steering_coeff
        info = {"layer": self.l}
        if c <= 0:
            norm = self.forget_activation_norm(model, ctx)
            c = self.config.norm_multiplier * norm
            info.update(activation_norm=round(norm, 6), norm_multiplier=self.config.norm_multiplier)
            log.info("rmu: mean activation norm %.4g at layer %d on the forget items -> c = %.4g", norm, self.l, c)
        info["steering_coeff"] = round(c, 6)
        self.info["rmu"] = info
        g = torch.Generator().manual_seed(self.config.seed)
        u = torch.rand(hidden, generator=g)
        self.control = c * u / u.norm()

    def parameters(self, model):
        l = self._layer(model)
        keep = {f".layers.{k}." for k in range(max(0, l - self.config.trained_layers + 1), l + 1)}
        from ..models.loading import vision_module_prefixes

        # the language model's layers: outside any vision tower (a causal LM has none and no "language_model")
        vision = tuple(v + "." for v in vision_module_prefixes(model))
        params = [p for n, p in model.named_parameters()
                  if p.requires_grad and not n.startswith(vision) and any(k in n for k in keep)]
        if not params:
            raise ValueError(f"RMU found no trainable language-model parameters in layers {sorted(keep)}")
        return params

    def loss(self, model, batch, ctx):
        f, r = batch["forget"], batch["retain"]
        inputs = lambda b: {k: v for k, v in b.items() if k != "labels"}  # noqa: E731
        h_f = model(**inputs(f), output_hidden_states=True).hidden_states[self.l + 1]
        h_r = model(**inputs(r), output_hidden_states=True).hidden_states[self.l + 1]
        h_r_ref = ctx.reference_hidden(model, r, self.l + 1)
        target = self.control.to(h_f.device).expand_as(h_f)
        return (masked_mse(h_f, target, steered_positions(f, self.image_token))
                + self.config.alpha * masked_mse(h_r, h_r_ref, steered_positions(r, self.image_token)))
