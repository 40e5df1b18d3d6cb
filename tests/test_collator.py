"""The collator supervises exactly the answer (+ end of turn), after image expansion, and drops nothing."""
import pytest
import torch

from clear_bench.data.collator import IGNORE, Collator
from clear_bench.data.prompts import CAPTION_QUESTIONS, caption_question
from clear_bench.data.sample import Sample


def _samples(image):
    return [Sample("t/0", "What can you see in this picture?", "Anna Stone sits at a desk in Lyon.", image=image),
            Sample("t/1", "Where was Anna Stone born?", "Anna Stone was born in Lyon."),
            Sample("t/2", "Describe it.", "Lyon.", image=image)]


@pytest.mark.parametrize("side", ["right", "left"])
def test_labels_are_exactly_the_answer_after_image_expansion(tiny_vlm, red_image, side):
    model, proc = tiny_vlm
    samples = _samples(red_image)
    batch = Collator(proc, padding_side=side)(samples)
    image_id = proc.tokenizer.convert_tokens_to_ids("<image>")
    n_image_tokens = (batch["input_ids"][0] == image_id).sum().item()
    assert n_image_tokens == 16  # 32x32 image, patch 8: the placeholder was expanded
    for row, s in zip(range(len(samples)), samples):
        labels = batch["labels"][row]
        supervised = labels[labels != IGNORE]
        assert proc.tokenizer.decode(supervised) == s.answer + "<|end|>"
        assert not (labels == image_id).any()
        # supervised positions are contiguous and end at the last real token
        pos = (labels != IGNORE).nonzero().flatten()
        assert (pos.diff() == 1).all()
        last_real = batch["attention_mask"][row].nonzero().max()
        assert pos.max() == last_real


def test_every_processor_tensor_reaches_forward(tiny_vlm, red_image, monkeypatch):
    model, proc = tiny_vlm
    coll = Collator(proc)
    batch = coll(_samples(red_image))
    processor_keys = set(proc(text=["<image>x"], images=[red_image], return_tensors="pt").keys())
    assert processor_keys <= set(batch)
    seen = {}
    original = type(model).forward

    def spy(self, *args, **kwargs):
        seen.update({k: v for k, v in kwargs.items() if v is not None})
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(model), "forward", spy)
    out = model(**batch)
    assert torch.isfinite(out.loss)
    assert set(batch) <= set(seen)
    assert seen["pixel_values"].shape[0] == 2  # both image rows kept, the text row has none


def test_text_only_batch_and_generation_prompts(tiny_vlm, red_image):
    model, proc = tiny_vlm
    batch = Collator(proc)([Sample("t/1", "Where was Anna Stone born?", "Lyon.")])
    assert "pixel_values" not in batch
    prompts = Collator(proc).prompts_only(_samples(red_image))
    assert (prompts["attention_mask"][:, -1] == 1).all()  # left padded
    text = proc.tokenizer.decode(prompts["input_ids"][1][prompts["attention_mask"][1].bool()])
    assert text.endswith("<|assistant|>")


def test_same_question_for_every_answer_variant():
    s = Sample("forget10_perturbed/7", caption_question("forget10_perturbed/7"), "true caption",
               perturbed_answers=("a", "b"))
    variants = [s.with_answer(a) for a in ("true caption", "paraphrase", *s.perturbed_answers)]
    assert {v.question for v in variants} == {s.question}
    assert caption_question("forget10_perturbed/7") == caption_question("forget10_perturbed/7")
    chosen = {caption_question(f"x/{i}") for i in range(200)}
    assert chosen == set(CAPTION_QUESTIONS)  # deterministic per item, yet spread over all nine


def test_answer_logits_only_gives_the_same_loss(any_vlm, red_image):
    """Cropped logits (last K positions, left padding) give the loss of full logits (right padding)."""
    from clear_bench.baselines.base import model_logits
    from clear_bench.baselines.losses import cross_entropy, sequence_logprob

    model, proc = any_vlm
    model.eval()
    samples = _samples(red_image)
    full = Collator(proc)(samples)
    cropped = Collator(proc, answer_logits_only=True)(samples)
    assert cropped["labels"].shape[1] == cropped["logits_to_keep"] < full["labels"].shape[1]
    with torch.no_grad():
        a = model_logits(model, full)
        b = model_logits(model, cropped)
        assert b.shape[1] == cropped["logits_to_keep"]
        assert cross_entropy(b, cropped["labels"]).item() == pytest.approx(model(**full).loss.item(), rel=1e-4)
        assert sequence_logprob(b, cropped["labels"]) == pytest.approx(sequence_logprob(a, full["labels"]), rel=1e-4)
