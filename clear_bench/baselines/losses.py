"""Loss building blocks as pure functions of logits and labels (unit-tested on toy tensors).

Shapes: logits (B, T, V) aligned with labels (B, T) as a causal LM returns them (position t
predicts token t+1); labels are -100 outside the answer. The pieces the training loop also uses
(`token_logprobs`, `sequence_logprob`, `cross_entropy`) live in `clear_bench.training.losses`,
below the methods, and are re-exported here.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..training.losses import IGNORE, _shift, cross_entropy, sequence_logprob, token_logprobs

__all__ = ["IGNORE", "answer_lengths", "cross_entropy", "dpo_loss", "kl_ref_to_model", "masked_mse", "npo_loss",
           "sequence_logprob", "simnpo_loss", "token_logprobs"]


def answer_lengths(labels: torch.Tensor) -> torch.Tensor:
    return (labels[:, 1:] != IGNORE).sum(1)


def kl_ref_to_model(logits: torch.Tensor, ref_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """KL(ref || θ) per answer token, averaged over the answer tokens of the batch."""
    logits, labels = _shift(logits, labels)
    ref_logits = ref_logits[:, :-1]
    mask = (labels != IGNORE).float()
    logp = torch.log_softmax(logits.float(), -1)
    ref_logp = torch.log_softmax(ref_logits.float(), -1)
    kl = (ref_logp.exp() * (ref_logp - logp)).sum(-1)
    return (kl * mask).sum() / mask.sum().clamp(min=1)


def npo_loss(seq_logp: torch.Tensor, ref_seq_logp: torch.Tensor, beta: float) -> torch.Tensor:
    """NPO (Zhang et al. 2024, Eq. 3): -(2/β) E log σ(-β (log πθ(y|x) - log πref(y|x)))."""
    return -(2.0 / beta) * F.logsigmoid(-beta * (seq_logp - ref_seq_logp)).mean()


def dpo_loss(chosen_logp, chosen_ref, rejected_logp, rejected_ref, beta: float) -> torch.Tensor:
    """DPO (Rafailov et al. 2023, Eq. 7) with the refusal as chosen and the forget answer as rejected:
    -E log σ(β[(Sθ(idk) - Sref(idk)) - (Sθ(f) - Sref(f))])."""
    return -F.logsigmoid(beta * ((chosen_logp - chosen_ref) - (rejected_logp - rejected_ref))).mean()


def simnpo_loss(seq_logp: torch.Tensor, lengths: torch.Tensor, beta: float, gamma: float) -> torch.Tensor:
    """SimNPO (Fan et al. 2024, Eq. 5): -(2/β) E log σ(-(β/|y|) log πθ(y|x) - γ); no reference model."""
    return -(2.0 / beta) * F.logsigmoid(-(beta / lengths.clamp(min=1).float()) * seq_logp - gamma).mean()


def masked_mse(h: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the positions where `mask` is true (RMU's activation losses)."""
    m = mask.float()[..., None]
    return ((h.float() - target.float()).square() * m).sum() / (m.sum() * h.shape[-1]).clamp(min=1)
