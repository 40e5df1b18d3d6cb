"""Several models that share one processor, served as one: their next-token distributions are averaged.

SISA aggregates its shard models this way (Bourtoule et al. 2021 average the constituents'
predictions): p(y_t | ·) = 1/S Σ_k p_k(y_t | ·). The ensemble returns log p as its logits, keeps one
KV cache per member, and generates greedily, so the evaluator scores and generates with it as with
any single model. Inference costs S forward passes.
"""
from __future__ import annotations

import math

import torch

from .compat import cache_kwargs, output_cache
from .cross_attention import continuation_kwargs
from .positions import next_positions, prefix_position_kwargs


class EnsembleCache:
    """One KV cache per member, selected together."""

    def __init__(self, caches: list):
        self.caches = caches

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        for c in self.caches:
            c.batch_select_indices(indices)

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return self.caches[0].get_seq_length(layer_idx)


class LogitEnsemble(torch.nn.Module):
    """Average of the members' output distributions (members: models of one architecture and processor)."""

    def __init__(self, members):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = torch.nn.ModuleList(members)
        self.config = members[0].config
        self.generation_config = getattr(members[0], "generation_config", None)

    def forward(self, past_key_values=None, labels=None, cache=None, **inputs):
        from transformers.modeling_outputs import CausalLMOutputWithPast

        past = cache if cache is not None else past_key_values  # (either name: models/compat.py)
        caches = past.caches if past is not None else [None] * len(self.members)
        outs = [m(**inputs, **cache_kwargs(m, c)) for m, c in zip(self.members, caches)]
        logp = torch.stack([torch.log_softmax(o.logits.float(), -1) for o in outs])
        logits = torch.logsumexp(logp, 0) - math.log(len(outs))
        new = [output_cache(o) for o in outs]
        name = "cache" if "cache" in CausalLMOutputWithPast.__dataclass_fields__ else "past_key_values"
        return CausalLMOutputWithPast(logits=logits,
                                      **{name: EnsembleCache(new) if all(c is not None for c in new) else None})

    @torch.no_grad()
    def generate(self, input_ids, attention_mask, max_new_tokens: int = 20, eos_token_id=None, pad_token_id=None,
                 do_sample: bool = False, **inputs):
        """Greedy decoding on the averaged distribution; returns prompt + new tokens, as `generate` does."""
        if do_sample:
            raise ValueError("the ensemble decodes greedily only")
        eos = torch.tensor(eos_token_id if isinstance(eos_token_id, (list, tuple)) else
                           [eos_token_id if eos_token_id is not None else self.config.eos_token_id],
                           device=input_ids.device)
        pad = pad_token_id if pad_token_id is not None else int(eos[0])
        prompt = {"input_ids": input_ids, "attention_mask": attention_mask, **inputs}
        out = self(**prompt, **prefix_position_kwargs(self, prompt), use_cache=True)
        pos = next_positions(self, prompt)
        done = torch.zeros(len(input_ids), dtype=torch.bool, device=input_ids.device)
        new = []
        for step in range(max_new_tokens):
            token = out.logits[:, -1].argmax(-1).masked_fill(done, pad)
            new.append(token)
            done |= torch.isin(token, eos)
            if done.all() or step == max_new_tokens - 1:
                break
            attention_mask = torch.cat([attention_mask, attention_mask.new_ones(len(token), 1)], 1)
            out = self(input_ids=token[:, None], attention_mask=attention_mask, cache=output_cache(out),
                       position_ids=pos + step, use_cache=True, **continuation_kwargs(prompt, slice(None), 1))
        return torch.cat([input_ids, torch.stack(new, 1)], 1)
