"""What each unlearning method targets, measured on a model (tests/test_method_effects.py), and a runner that
records which weights moved (tests/test_baselines.py)."""
from __future__ import annotations

import copy

import torch

from clear_bench.baselines import get_method
from clear_bench.baselines.base import model_logits
from clear_bench.baselines.losses import kl_ref_to_model, token_logprobs
from clear_bench.data.collator import Collator


def _batches(processor, samples, size=8):
    collate = Collator(processor)
    for i in range(0, len(samples), size):
        yield collate(samples[i:i + size])


@torch.no_grad()
def answer_logprob(model, processor, samples) -> torch.Tensor:
    """Per item, the mean log-probability of its answer tokens (log of the per-token geometric-mean probability)."""
    model.eval()
    out = []
    for batch in _batches(processor, samples):
        logp, mask = token_logprobs(model_logits(model, batch), batch["labels"])
        out.append(logp.sum(1) / mask.sum(1).clamp(min=1))
    return torch.cat(out)


@torch.no_grad()
def kl_teacher_student(student, teacher, processor, samples) -> float:
    """KL(teacher || student) per answer token, averaged over the items."""
    student.eval()
    values = [float(kl_ref_to_model(model_logits(student, b), model_logits(teacher, b), b["labels"]))
              * len(b["labels"]) for b in _batches(processor, samples)]
    return sum(values) / len(samples)


@torch.no_grad()
def layer_activations(model, processor, samples, layer: int) -> torch.Tensor:
    """Layer-`layer` outputs at RMU's steered positions (answer and image tokens) of every item, (N_pos, H)."""
    from clear_bench.baselines.rmu import image_token_id, steered_positions

    model.eval()
    out = []
    for b in _batches(processor, samples):
        h = model(**{k: v for k, v in b.items() if k != "labels"}, output_hidden_states=True).hidden_states[layer + 1]
        out.append(h[steered_positions(b, image_token_id(model))].float())
    return torch.cat(out)


def run(model, processor, name, forget, retain, config, method_args=None, seed=0):
    """Unlearn a copy of `model` with method `name`; returns (model, method, result, weights) where weights has
    the names of the parameters the optimiser trained ("trained") and of those that require grad
    ("requires_grad"), and every parameter before the first and after
    the last step ("before", "after"; LoRA adapters included, before they are merged)."""
    from clear_bench.training.unlearn import make_pairs, unlearn

    cls = get_method(name)
    method = cls(cls.Config(**(method_args or {})))
    weights = {}
    parameters, finish = method.parameters, method.finish

    def spy_parameters(m):
        params = parameters(m)
        ids = {id(p) for p in params}
        weights["trained"] = {n for n, p in m.named_parameters() if id(p) in ids}
        weights["requires_grad"] = {n for n, p in m.named_parameters() if p.requires_grad}
        weights["before"] = {n: p.detach().clone() for n, p in m.named_parameters()}
        return params

    def spy_finish(m, ctx):
        weights["after"] = {n: p.detach().clone() for n, p in ctx.unwrap(m).named_parameters()}
        return finish(m, ctx)

    method.parameters, method.finish = spy_parameters, spy_finish
    torch.manual_seed(seed)
    out, result = unlearn(copy.deepcopy(model), processor, method, make_pairs(forget, retain, seed), config)
    return out, method, result, weights
