"""RMU: steer the forget activations at one layer to a fixed random direction, keep retain activations."""
from dataclasses import dataclass

import torch

from .base import UnlearningMethod
from .losses import masked_mse
from .registry import register


@dataclass
class RMUConfig:
    """RMU hyper-parameters (Li et al. 2024, WMDP §5). WMDP used ℓ=7, c=6.5, α=1200 for Zephyr-7B and the CLEAR
    reference c=300; the defaults here (c 6.5, α 100, ℓ a quarter of the depth) are not tuned per model: c·u
    must be large next to the activation norm at ℓ, so set `steering_coeff` / `alpha` for a new model size.

    Attributes:
        layer: ℓ, index of the language-model layer whose output is steered; -1 picks a quarter of the depth.
        steering_coeff: c, the norm of the control vector c·u.
        alpha: α, weight of the retain activation-matching loss.
        trained_layers: how many layers up to ℓ train (ℓ-k+1 ... ℓ); everything else stays frozen.
        seed: seed of the random unit vector u.
    """

    layer: int = -1
    steering_coeff: float = 6.5
    alpha: float = 100.0
    trained_layers: int = 3
    seed: int = 0


def _lm_config(model):
    cfg = model.config
    return getattr(cfg, "text_config", cfg)


@register
class RMU(UnlearningMethod):
    name = "rmu"
    Config = RMUConfig
    streams = ("forget", "retain")
    needs_reference = True
    paper = "Li et al. 2024, 'The WMDP benchmark', Eq. 1-2 (Representation Misdirection for Unlearning)"

    def _layer(self, model) -> int:
        n = _lm_config(model).num_hidden_layers
        return self.config.layer if self.config.layer >= 0 else max(0, n // 4)

    def setup(self, model, ctx):
        base = ctx.unwrap(model)
        hidden = _lm_config(base).hidden_size
        g = torch.Generator().manual_seed(self.config.seed)
        u = torch.rand(hidden, generator=g)
        self.control = self.config.steering_coeff * u / u.norm()
        self.l = self._layer(base)

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
        return (masked_mse(h_f, target, f["attention_mask"].bool())
                + self.config.alpha * masked_mse(h_r, h_r_ref, r["attention_mask"].bool()))
