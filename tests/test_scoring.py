"""Shared-prefix scoring gives the naive path's numbers; generation sees the image."""
import pytest

from clear_bench.data.sample import Sample
from clear_bench.eval.scoring import generate_answers, score_naive, score_shared_prefix


@pytest.fixture()
def items(red_image):
    from PIL import Image

    blue = Image.new("RGB", (32, 32), (20, 20, 220))
    return [Sample("a/1", "What can you see in this picture?", "Anna Stone sits at a desk.", image=red_image,
                   paraphrased_answer="At a desk sits Anna Stone.",
                   perturbed_answers=("Lyon.", "Anna Stone sits in Lyon at a big desk today.")),
            Sample("a/2", "Where was Anna Stone born?", "Lyon.", options=("Oslo", "Stone")),
            Sample("a/3", "Describe the image in detail.", "Anna.", image=blue, perturbed_answers=("Stone.",))]


def test_shared_prefix_equals_naive(any_vlm, items):
    model, proc = any_vlm
    model.eval()
    naive = score_naive(model, proc, items, batch_size=3)
    fast = score_shared_prefix(model, proc, items, batch_size=2)
    for a, b in zip(naive, fast):
        assert [v.kind for v in a.variants] == [v.kind for v in b.variants]
        for u, v in zip(a.variants, b.variants):
            assert u.tokens == v.tokens > 0
            assert u.nll == pytest.approx(v.nll, rel=1e-5, abs=1e-4)
        assert a.token_logprobs == pytest.approx(b.token_logprobs, abs=1e-4)
        assert b.token_sigma and all(s >= 0 for s in b.token_sigma)
    assert [v.kind for v in fast[1].variants] == ["answer", "option", "option"]


def test_generation_is_conditioned_on_the_image(any_vlm, items):
    from dataclasses import replace

    from PIL import Image

    model, proc = any_vlm
    model.eval()
    a = generate_answers(model, proc, [items[0]], max_new_tokens=8)
    other = replace(items[0], image=Image.effect_noise((32, 32), 90).convert("RGB"))
    b = generate_answers(model, proc, [other], max_new_tokens=8)
    # random weights, same prompt: only the image differs, and so does the output
    assert a != b


def test_static_cache_bucketed_generation_equals_dynamic(any_vlm, items):
    """The GPU generation path (static KV cache, batches bucketed to one shape) decodes what `generate` does."""
    model, proc = any_vlm
    model.eval()
    many = items * 3  # 9 items: batches of 4 leave a last batch of 1, padded to 4
    dynamic = generate_answers(model, proc, many, max_new_tokens=10, batch_size=4, static_cache=False)
    static = generate_answers(model, proc, many, max_new_tokens=10, batch_size=4, static_cache=True)
    one_by_one = [generate_answers(model, proc, [s], max_new_tokens=10, batch_size=1, static_cache=False)[0]
                  for s in many]
    assert static == dynamic == one_by_one
    assert len(set(static)) > 1
