"""Batches of `Sample`s -> model inputs, built by the model's own processor.

Labels are -100 everywhere except the answer tokens and the end-of-turn token. The prompt length
is measured AFTER the processor has expanded image placeholders into image tokens: the reference
counts prompt tokens before expansion and so supervises image and prompt tokens on Qwen2-VL.
Every tensor the processor returns (pixel values, grid sizes, token types) is passed on. A causal
LM's tokenizer serves as the processor of text-only samples: one code path with or without images.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

import torch

from .prompts import CAPTION_QUESTIONS, end_of_turn, sample_prompt, tokenizer_of
from .sample import Sample

log = logging.getLogger(__name__)
IGNORE = -100


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def model_numbers_positions(inputs) -> bool:
    """True for batches whose positions the model derives itself from the mask: image batches of
    multimodal-rotary processors (Qwen2-VL, which also return `image_grid_thw`)."""
    return "image_grid_thw" in inputs


def left_padded_positions(attention_mask: torch.Tensor) -> torch.Tensor:
    """Position ids that number each row's real tokens 0..n-1 behind its left padding."""
    return (attention_mask.long().cumsum(1) - 1).clamp(min=0)


class Collator:
    """Callable collate function: ``Collator(processor)(samples) -> dict of tensors`` with labels.

    `padding_side` is "right" for training and "left" for generation and prefix-cached scoring;
    `include_eot=False` leaves the end-of-turn token out (scoring an answer's own tokens).
    """

    def __init__(self, processor, padding_side: str = "right", include_eot: bool = True, question_rng=None,
                 question_pool: Sequence[str] = CAPTION_QUESTIONS, answer_logits_only: bool = False):
        self.processor = processor
        # training only: a seeded `random.Random` re-draws the caption request of caption samples, so the
        # model must read the image rather than key on one fixed question per image
        self.question_rng = question_rng
        self.question_pool = tuple(question_pool)
        # Left padding puts every answer at the end of its row: the model then computes vocabulary logits for
        # the last K positions only (`logits_to_keep`), and labels are cropped to match. With a 152k vocabulary
        # this removes most of the logits memory and lm_head work of a training step.
        self.answer_logits_only = answer_logits_only
        self.tokenizer = tokenizer_of(processor)  # a causal LM passes its tokenizer as the processor
        self.padding_side = "left" if answer_logits_only else padding_side
        self.include_eot = include_eot  # training supervises end of turn; scoring reads the answer alone

    def state_dict(self) -> dict:
        """The request generator's state: training checkpoints save it, so a resumed run draws on from there."""
        return {"question_rng": self.question_rng.getstate()} if self.question_rng is not None else {}

    def load_state_dict(self, state: dict) -> None:
        if self.question_rng is not None and state.get("question_rng"):
            version, internal, gauss = state["question_rng"]  # (JSON turned the tuples into lists)
            self.question_rng.setstate((version, tuple(internal), gauss))

    def texts(self, samples: Sequence[Sample]) -> tuple[list[str], list[str]]:
        """(prompt strings, full strings = prompt + answer + end-of-turn)."""
        eot = end_of_turn(self.processor) if self.include_eot else ""
        prompts = [sample_prompt(self.processor, s) for s in samples]
        return prompts, [p + s.answer + eot for p, s in zip(prompts, samples)]

    def _process(self, texts: list[str], samples: Sequence[Sample], padding_side: str,
                 pad_to_multiple_of: int | None = None):
        # one list of images per row (empty for a text row): Gemma 3's and Mllama's processors pair images with
        # rows only so; the others give the same tensors as with a flat list
        images = [[s.image] if s.has_image else [] for s in samples]
        old = self.tokenizer.padding_side
        self.tokenizer.padding_side = padding_side
        try:
            kwargs = {"images": images} if any(images) else {}
            kwargs["padding_side"] = padding_side  # InternVL's processor pads left unless told
            if pad_to_multiple_of:
                kwargs["pad_to_multiple_of"] = pad_to_multiple_of
            return self.processor(text=texts, padding=True, return_tensors="pt", **kwargs)
        finally:
            self.tokenizer.padding_side = old

    def prompt_lengths(self, prompts: list[str], fulls: list[str], enc) -> list[int]:
        """Expanded prompt length per row: unexpanded prompt tokens + the image-expansion delta of the row."""
        lengths = []
        seq_lens = enc["attention_mask"].sum(1).tolist()
        for p, f, n_exp in zip(prompts, fulls, seq_lens):
            p_ids = self.tokenizer(p)["input_ids"]
            f_ids = self.tokenizer(f)["input_ids"]
            n_prompt = _common_prefix(p_ids, f_ids)
            if n_prompt != len(p_ids):
                log.debug("prompt/answer boundary merged into one token; prompt length %d -> %d", len(p_ids), n_prompt)
            lengths.append(n_prompt + (int(n_exp) - len(f_ids)))
        return lengths

    def __call__(self, samples: Sequence[Sample]) -> dict[str, torch.Tensor]:
        if self.question_rng is not None:
            samples = [replace(s, question=self.question_rng.choice(self.question_pool))
                       if s.extra.get("caption_request") else s for s in samples]
        prompts, fulls = self.texts(samples)
        enc = self._process(fulls, samples, self.padding_side)
        n_prompt = self.prompt_lengths(prompts, fulls, enc)
        labels = enc["input_ids"].clone()
        mask = enc["attention_mask"].bool()
        L = labels.shape[1]
        for i, n in enumerate(n_prompt):
            start = 0 if self.padding_side == "right" else L - int(mask[i].sum())
            labels[i, : start + n] = IGNORE
        labels[~mask] = IGNORE
        out = dict(enc)
        if self.padding_side == "left" and not model_numbers_positions(out):
            # Real tokens numbered 0..n-1 as with right padding (models number positions from the first column
            # unless told).
            out["position_ids"] = left_padded_positions(enc["attention_mask"])
        if self.answer_logits_only:
            answer_pos = (labels != IGNORE).float().argmax(1)  # first supervised position of each row
            keep = int(L - answer_pos.min().item()) + 1  # + the position that predicts the first answer token
            out["logits_to_keep"] = min(keep, L)
            labels = labels[:, L - out["logits_to_keep"]:]
        out["labels"] = labels
        return out

    def prompts_only(self, samples: Sequence[Sample], pad_to_multiple_of: int | None = None) -> dict[str, torch.Tensor]:
        """Left-padded prompts (image + question, generation prompt appended) for `generate`."""
        prompts = [sample_prompt(self.processor, s) for s in samples]
        return dict(self._process(prompts, samples, "left", pad_to_multiple_of))
