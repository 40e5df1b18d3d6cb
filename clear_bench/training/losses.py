"""The loss pieces the training loop and every method share, as pure functions of logits and labels
(unit-tested on toy tensors, tests/test_losses.py); the methods' own losses are in `baselines/losses.py`.

Shapes: logits (B, T, V) aligned with labels (B, T) as a causal LM returns them (position t
predicts token t+1); labels are -100 outside the answer.
"""
from __future__ import annotations

import torch

IGNORE = -100


def _shift(logits: torch.Tensor, labels: torch.Tensor):
    return logits[:, :-1], labels[:, 1:]


def token_logprobs(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(log p of each label token, mask of answer positions), both (B, T-1)."""
    logits, labels = _shift(logits, labels)
    mask = labels != IGNORE
    logp = torch.log_softmax(logits.float(), -1).gather(-1, labels.clamp(min=0)[..., None])[..., 0]
    return logp * mask, mask


def sequence_logprob(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """S = summed answer-token log-likelihood per sequence, (B,)."""
    logp, _ = token_logprobs(logits, labels)
    return logp.sum(1)


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """CE = mean token NLL over all answer tokens of the batch (what HF's `.loss` computes)."""
    logp, mask = token_logprobs(logits, labels)
    return -logp.sum() / mask.sum().clamp(min=1)
