"""Per-item scoring: NLL of every answer variant conditioned on image + prompt, and greedy generation.

Fast path (`shared_prefix=True`): the image and prompt of an item are encoded once; the KV cache
is then indexed out to all its answer variants (true, paraphrase, perturbed, options), which are
scored in one batched forward. Logits over the vocabulary are computed only where answer tokens
are read. Models with multimodal rotary positions (Qwen2-VL) continue at the positions the model
assigned after the image (`models/positions.py`); models with cross-attention image layers (Mllama) never batch
text rows beside image rows and continue the prefix's cross-attention mask (`models/cross_attention.py`). Both
paths give the same numbers (tested, per architecture: tests/test_families.py).

What an answer's score covers (`score_eos`): False scores the answer's own tokens (our form, the multimodal track's);
True also scores the end-of-turn token the model was fine-tuned to close its answer with (the collator's training
target), as TOFU and OpenUnlearning score the EOS they train with (locuslab/tofu:data_module.py:27 appends one
`eos_token_id` to the labels; locuslab/open-unlearning:src/data/utils.py:113-114 appends it when the chat template
has not), and as the CLEAR reference's text track does (somvy/multimodal_unlearning:nlp/data_module.py:33). NLL
and token count then include that token: per-token Prob moves most on 1-3-token answers (tests/test_text_track.py);
without it the two forms are the same numbers (tests/test_text_eos.py).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from ..data.collator import IGNORE, Collator, _common_prefix
from ..data.prompts import end_of_turn, sample_prompt, tokenizer_of
from ..data.sample import Sample
from ..models.compat import cache_kwargs, output_cache
from ..models.cross_attention import batch_groups, continuation_kwargs
from ..models.positions import next_positions, prefix_position_kwargs
from .config import DEFAULT_MAX_NEW_TOKENS

log = logging.getLogger(__name__)


@dataclass
class VariantScore:
    kind: str  # "answer" | "paraphrase" | "perturbed" | "option"
    text: str
    nll: float  # summed negative log-likelihood of the variant's tokens
    tokens: int


@dataclass
class ItemScore:
    """What scoring one item yields; `eval/logs.py` stores it as one JSONL record."""

    item_id: str
    person: str | None
    variants: list[VariantScore]
    token_logprobs: list[float] = field(default_factory=list)  # of the true answer, per token
    token_mu: list[float] = field(default_factory=list)  # E_v[log p(v)] at each answer position (Min-K%++)
    token_sigma: list[float] = field(default_factory=list)  # std of log p(v) at each answer position
    generation: str | None = None


def variants_of(s: Sample) -> list[tuple[str, str]]:
    out = [("answer", s.answer)]
    if s.paraphrased_answer is not None:
        out.append(("paraphrase", s.paraphrased_answer))
    out += [("perturbed", a) for a in s.perturbed_answers]
    out += [("option", a) for a in s.options]
    return out


def _token_stats(logits: torch.Tensor, targets: torch.Tensor):
    """Per-position log p(target), and the mean / std of log p over the vocabulary (for Min-K%++)."""
    logp = torch.log_softmax(logits.float(), -1)
    tok = logp.gather(-1, targets[..., None])[..., 0]
    p = logp.exp()
    mu = (p * logp).sum(-1)
    sigma = ((p * logp.square()).sum(-1) - mu.square()).clamp(min=0).sqrt()
    return tok, mu, sigma


def _device(model):
    return next(model.parameters()).device


@torch.no_grad()
def score_naive(model, processor, samples: Sequence[Sample], batch_size: int = 8,
                score_eos: bool = False) -> list[ItemScore]:
    """Every variant as its own full sequence (image and prompt re-encoded each time): the reference's way.
    `score_eos`: the answer's end-of-turn token is scored too (module docstring)."""
    coll = Collator(processor, padding_side="right", include_eot=score_eos)
    flat = [(i, kind, s.with_answer(text)) for i, s in enumerate(samples) for kind, text in variants_of(s)]
    results = [ItemScore(s.item_id, s.person, []) for s in samples]
    dev = _device(model)
    for group in batch_groups(model, flat, batch_size, lambda x: x[2].has_image):
        chunk = [flat[j] for j in group]
        batch = {k: v.to(dev) for k, v in coll([x[2] for x in chunk]).items()}
        labels = batch.pop("labels")
        logits = model(**batch).logits[:, :-1]
        targets = labels[:, 1:]
        mask = targets != IGNORE
        for row, (i, kind, v) in enumerate(chunk):
            m = mask[row]
            tok, mu, sigma = _token_stats(logits[row][m], targets[row][m])
            results[i].variants.append(VariantScore(kind, v.answer, float(-tok.sum()), int(m.sum())))
            if kind == "answer":
                results[i].token_logprobs, results[i].token_mu, results[i].token_sigma = (
                    tok.tolist(), mu.tolist(), sigma.tolist())
    return results


@torch.no_grad()
def score_shared_prefix(model, processor, samples: Sequence[Sample], batch_size: int = 8,
                        score_eos: bool = False) -> list[ItemScore]:
    """Encode image + prompt once per item, reuse its KV cache for all answer variants (`score_eos`: as
    `score_naive`)."""
    tok = tokenizer_of(processor)
    eot = end_of_turn(processor) if score_eos else ""  # the same string the naive path's collator appends
    coll = Collator(processor, padding_side="left")
    dev = _device(model)
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    results = [None] * len(samples)
    for group in batch_groups(model, samples, batch_size, lambda s: s.has_image):
        items = [samples[j] for j in group]
        prefix = {k: v.to(dev) for k, v in coll.prompts_only(items).items()}
        out = model(**prefix, **prefix_position_kwargs(model, prefix), use_cache=True, logits_to_keep=1)
        last_logits, cache = out.logits[:, -1], output_cache(out)
        first_pos = next_positions(model, prefix)  # where each row's answer starts
        rows, conts, kinds = [], [], []
        naive_items = []
        for i, s in enumerate(items):
            prompt = sample_prompt(processor, s)
            p_ids = tok(prompt)["input_ids"]
            for kind, text in variants_of(s):
                f_ids = tok(prompt + text + eot)["input_ids"]
                if _common_prefix(p_ids, f_ids) != len(p_ids):
                    naive_items.append(i)  # the answer's first token merged with the prompt's last
                    break
                rows.append(i)
                conts.append(f_ids[len(p_ids):])
                kinds.append((kind, text))
        item_scores = [ItemScore(s.item_id, s.person, []) for s in items]
        keep = [j for j, r in enumerate(rows) if r not in naive_items]
        if keep:
            rows_t = torch.tensor([rows[j] for j in keep], device=dev)
            lc = max(len(conts[j]) for j in keep)
            ids = torch.full((len(keep), lc), pad, dtype=torch.long, device=dev)
            cmask = torch.zeros((len(keep), lc), dtype=torch.long, device=dev)
            for r, j in enumerate(keep):
                ids[r, :len(conts[j])] = torch.tensor(conts[j], device=dev)
                cmask[r, :len(conts[j])] = 1
            cache.batch_select_indices(rows_t)
            attn = torch.cat([prefix["attention_mask"][rows_t], cmask], 1)
            pos = first_pos[rows_t] + torch.arange(lc, device=dev)[None]
            cont_logits = model(input_ids=ids, attention_mask=attn, **cache_kwargs(model, cache), position_ids=pos,
                                **continuation_kwargs(prefix, rows_t, lc), use_cache=False, logits_to_keep=lc).logits
            # the first answer token is predicted by the prefix's last position
            logits = torch.cat([last_logits[rows_t][:, None], cont_logits[:, :-1]], 1)
            for r, j in enumerate(keep):
                n = len(conts[j])
                t, mu, sigma = _token_stats(logits[r, :n], ids[r, :n])
                kind, text = kinds[j]
                score = item_scores[rows[j]]
                score.variants.append(VariantScore(kind, text, float(-t.sum()), n))
                if kind == "answer":
                    score.token_logprobs, score.token_mu, score.token_sigma = t.tolist(), mu.tolist(), sigma.tolist()
        for i in sorted(set(naive_items)):
            item_scores[i] = score_naive(model, processor, [items[i]], batch_size, score_eos)[0]
        for j, score in zip(group, item_scores):
            results[j] = score
    return results


def stop_token_ids(processor) -> list[int]:
    tok = tokenizer_of(processor)
    ids = {tok.eos_token_id}
    eot = end_of_turn(processor)
    eot_id = tok.convert_tokens_to_ids(eot) if eot else None
    if eot_id is not None and eot_id != tok.unk_token_id:
        ids.add(eot_id)
    return sorted(i for i in ids if i is not None)


def _static_cache_ok(model) -> bool:
    from transformers import PreTrainedModel

    return isinstance(model, PreTrainedModel) and _device(model).type == "cuda"


@torch.no_grad()
def generate_answers(model, processor, samples: Sequence[Sample], max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
                     batch_size: int = 16, static_cache: bool | None = None) -> list[str]:
    """Greedy answers conditioned on the IMAGE and the prompt, stopping at end of turn (batched, left padded).

    With `static_cache` (default: on CUDA) the KV cache is preallocated and transformers compiles the
    decoding step; every batch is then bucketed to one shape (`batch_size` rows, prompts padded to a
    multiple of 64 tokens) so the compiled step is reused instead of recompiled per batch. Extra rows
    repeat the batch's last item and are dropped; extra left padding is masked and changes nothing.
    """
    static = _static_cache_ok(model) if static_cache is None else static_cache
    coll = Collator(processor)
    tok = tokenizer_of(processor)
    dev = _device(model)
    kw = dict(do_sample=False, max_new_tokens=max_new_tokens, eos_token_id=stop_token_ids(processor),
              pad_token_id=tok.pad_token_id)
    if static:
        kw["cache_implementation"] = "static"
    # Similar lengths together: less padding per batch; results are returned in the input order.
    order = sorted(range(len(samples)), key=lambda i: len(samples[i].question))
    texts = [None] * len(samples)
    for group in batch_groups(model, order, batch_size, lambda i: samples[i].has_image):
        idx = [order[j] for j in group]
        batch = [samples[i] for i in idx]
        if static:
            batch += [batch[-1]] * (batch_size - len(batch))
        enc = {k: v.to(dev) for k, v in coll.prompts_only(batch, pad_to_multiple_of=64 if static else None).items()}
        new = model.generate(**enc, **kw)[:, enc["input_ids"].shape[1]:]
        for i, row in zip(idx, new):
            texts[i] = tok.decode(row, skip_special_tokens=True).strip()
    return texts


def score_items(model, processor, samples: Sequence[Sample], generate: bool = True, shared_prefix: bool = True,
                batch_size: int = 8, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
                score_eos: bool = False) -> list[ItemScore]:
    """Scores and (optionally) generations for `samples`, in order (`score_eos`: module docstring)."""
    was_training = model.training
    model.eval()
    try:
        fn = score_shared_prefix if shared_prefix else score_naive
        scores = fn(model, processor, samples, batch_size, score_eos)
        if generate:
            # with a static cache (CUDA) decoding is memory-bound: a larger batch costs little more per step
            gen_batch = batch_size * (8 if _static_cache_ok(model) else 2)
            for s, g in zip(scores, generate_answers(model, processor, samples, max_new_tokens, gen_batch)):
                s.generation = g
    finally:
        model.train(was_training)
    return scores
