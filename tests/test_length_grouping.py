"""Length-grouped batches: every item once per epoch, less padding, same order for the same seed."""
import pytest
import torch

from clear_bench.data.sample import Sample
from clear_bench.training.loop import LengthGroupedBatches, TrainConfig, train


def _mixed(red_image, n=40):
    out = []
    for i in range(n):
        if i % 2:
            out.append(Sample(f"t/{i}", "Where was Anna Stone born?", "Lyon." if i % 4 == 1 else
                              "Anna Stone was born in Lyon, and she sits at a desk in Lyon."))
        else:
            out.append(Sample(f"i/{i}", "What can you see in this picture?", "Anna Stone sits at a desk.",
                              image=red_image))
    return out


def test_each_item_once_per_epoch_and_deterministic(red_image):
    items = _mixed(red_image, 41)
    a = list(LengthGroupedBatches(items, 4, torch.Generator().manual_seed(3)))
    b = list(LengthGroupedBatches(items, 4, torch.Generator().manual_seed(3)))
    c = list(LengthGroupedBatches(items, 4, torch.Generator().manual_seed(4)))
    assert a == b != c
    assert sorted(i for batch in a for i in batch) == list(range(41))
    assert len(a) == len(LengthGroupedBatches(items, 4, torch.Generator())) == 11
    # batches are homogeneous: never an image row with a text row when there are enough of each
    kinds = [{items[i].has_image for i in batch} for batch in a]
    assert sum(len(k) > 1 for k in kinds) <= 1


@pytest.mark.slow
def test_grouped_training_pads_less_and_trains(tiny_vlm, red_image):
    """Same steps, fewer padding tokens; the loss still falls."""
    import copy

    from clear_bench.data.collator import Collator

    model, proc = tiny_vlm
    items = _mixed(red_image)
    seen = {True: [], False: []}
    for grouped in (False, True):
        collate = Collator(proc, answer_logits_only=True)

        def counting(batch, collate=collate, grouped=grouped):
            out = collate(batch)
            seen[grouped].append((out["attention_mask"] == 0).sum().item())
            return out

        m = copy.deepcopy(model)
        r = train(m, items, counting, TrainConfig(epochs=3, lr=3e-3, batch_size=4, warmup_epochs=0,
                                                  group_by_length=grouped))
        assert r.steps == 30
        if grouped:
            assert sum(r.losses[-10:]) < sum(r.losses[:10])
    assert sum(seen[True]) < 0.5 * sum(seen[False])
