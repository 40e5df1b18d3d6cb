"""`TrainConfig.compile`: regionally compiled blocks train to the same losses and weights as eager ones."""
import copy

import pytest
import torch
from torch._dynamo.eval_frame import OptimizedModule

from clear_bench.data.collator import Collator
from clear_bench.data.sample import Sample
from clear_bench.models.lora import apply_lora, freeze_vision
from clear_bench.training.loop import TrainConfig, default_loss, train

pytestmark = pytest.mark.slow  # every test here trains a tiny model


def test_compiled_training_equals_eager(tiny_vlm, red_image):
    base, proc = tiny_vlm
    # text and image rows of several lengths: the compiled blocks must serve every shape (dynamic=True)
    data = [Sample(f"s/{i}", "What can you see in this picture?" if i % 2 else "Where was Anna Stone born?",
                   "Anna Stone sits at a desk in Lyon." if i % 3 else "Lyon.", image=red_image if i % 2 else None)
            for i in range(12)]
    runs, seen = {}, {False: set(), True: set()}
    for compiled in (False, True):
        def loss_fn(m, batch, step, compiled=compiled):  # records whether the model it is given runs compiled blocks
            seen[compiled].add(any(isinstance(x, OptimizedModule) for x in m.modules()))
            return default_loss(m, batch, step)

        torch.manual_seed(0)
        model = copy.deepcopy(base)
        freeze_vision(model)
        model = apply_lora(model, r=4, alpha=16)
        cfg = TrainConfig(epochs=2, lr=5e-3, batch_size=4, warmup_epochs=0, compile=compiled)
        runs[compiled] = (train(model, data, Collator(proc, answer_logits_only=True), cfg, loss_fn=loss_fn), model)
    assert seen == {False: {False}, True: {True}}  # the compiled run really ran compiled blocks
    (eager, m_eager), (comp, m_comp) = runs[False], runs[True]
    assert comp.steps == eager.steps == 6
    assert comp.losses == pytest.approx(eager.losses, rel=1e-4)
    assert comp.losses[-1] < comp.losses[0]
    for (n, a), b in zip(m_eager.named_parameters(), m_comp.parameters()):
        assert torch.allclose(a, b, atol=1e-5), n
    # the caller's model is trained in place and stays a plain module (saving, merging need no unwrapping)
    assert not any(isinstance(m, OptimizedModule) for m in m_comp.modules())
    # a second compiled run on the same model (another phase, a resumed job) still reads LLaVA's vision features
    # (a compiled vision tower loses the hidden states transformers captures with hooks)
    again = train(m_comp, data, Collator(proc, answer_logits_only=True), TrainConfig(
        epochs=1, lr=5e-3, batch_size=4, warmup_epochs=0, compile=True))
    assert again.steps == 3 and all(torch.isfinite(torch.tensor(again.losses)))
