"""A run killed mid-training resumes from its last finished epoch and ends where an uninterrupted run ends."""
import copy

import pytest
import torch

from clear_bench.data.collator import Collator
from clear_bench.data.sample import Sample
from clear_bench.training.loop import TrainConfig, train

pytestmark = pytest.mark.slow  # every test here trains a tiny model


class Killed(Exception):
    pass


@pytest.fixture()
def samples(red_image):
    return [Sample(f"s/{i}", "What can you see in this picture?", f"Anna Stone sits at a desk {i}.",
                   image=red_image if i % 2 else None) for i in range(6)]


def _kill_at(step_to_die):
    def on_step(step):
        if step == step_to_die:
            raise Killed()
    return on_step


@pytest.mark.parametrize("grouped", [False, True], ids=["shuffled", "length-grouped"])
def test_killed_finetune_resumes_to_identical_weights(tiny_vlm, samples, tmp_path, grouped):
    base, proc = tiny_vlm
    cfg = TrainConfig(epochs=3, lr=1e-3, batch_size=2, warmup_epochs=1, seed=7,  # 3 steps per epoch, 9 in all
                      group_by_length=grouped)
    torch.manual_seed(0)
    straight = copy.deepcopy(base)
    full = train(straight, samples, Collator(proc), cfg)

    torch.manual_seed(0)
    first = copy.deepcopy(base)
    ckpt = tmp_path / "ckpt"
    with pytest.raises(Killed):
        train(first, samples, Collator(proc), cfg, checkpoint_dir=ckpt, on_step=_kill_at(4))  # dies in epoch 2
    assert (ckpt / "progress.json").exists()

    torch.manual_seed(0)
    resumed = copy.deepcopy(base)  # a fresh process would reload the base weights
    seen = []
    result = train(resumed, samples, Collator(proc), cfg, checkpoint_dir=ckpt,
                   on_step=seen.append)
    assert seen[0] == 3  # epoch 1 (steps 0-2) was not redone
    assert result.steps == full.steps == 9
    assert result.losses == pytest.approx(full.losses, rel=1e-5)
    for (n, a), b in zip(straight.named_parameters(), resumed.parameters()):
        assert torch.allclose(a, b, atol=1e-6), n


def test_resume_continues_the_caption_request_draws(tiny_vlm, red_image, tmp_path):
    """Fine-tuning re-draws each caption row's request from a seeded generator: a resumed run continues that
    generator where the killed run's last finished epoch left it, not from the seed again."""
    import random

    base, proc = tiny_vlm
    rows = [Sample(f"c/{i}", "What can you see in this picture?", f"Anna Stone sits at a desk {i}.", image=red_image,
                   extra={"caption_request": True}) for i in range(4)]
    pool = ("What can you see in this picture?", "Where was Anna Stone born?", "Describe the image.")
    cfg = TrainConfig(epochs=3, lr=1e-3, batch_size=2, warmup_epochs=0, seed=7)

    def collate():
        return Collator(proc, question_rng=random.Random(11), question_pool=pool)

    torch.manual_seed(0)
    straight = copy.deepcopy(base)
    full = train(straight, rows, collate(), cfg)
    torch.manual_seed(0)
    ckpt = tmp_path / "ckpt"
    with pytest.raises(Killed):
        train(copy.deepcopy(base), rows, collate(), cfg, checkpoint_dir=ckpt, on_step=_kill_at(3))
    torch.manual_seed(0)
    resumed = copy.deepcopy(base)
    result = train(resumed, rows, collate(), cfg, checkpoint_dir=ckpt)  # a new process: a new generator
    assert result.losses == pytest.approx(full.losses, rel=1e-5)
    for (n, a), b in zip(straight.named_parameters(), resumed.parameters()):
        assert torch.allclose(a, b, atol=1e-6), n


def test_killed_unlearning_resumes(tiny_vlm, samples, tmp_path):
    from clear_bench.baselines import get_method
    from clear_bench.training.unlearn import UnlearnConfig, make_pairs, unlearn

    base, proc = tiny_vlm
    pairs = make_pairs(samples[:3], samples[3:], seed=0)
    cfg = UnlearnConfig(lora_r=4, lora_alpha=8, train=TrainConfig(epochs=3, lr=1e-3, batch_size=1, warmup_epochs=0))
    torch.manual_seed(0)
    full_model, full = unlearn(copy.deepcopy(base), proc, get_method("gd")(), pairs, cfg)

    ckpt = tmp_path / "u"
    method = get_method("gd")()
    orig = method.loss

    def dying(model, batch, ctx):
        if ctx.step == 5:
            raise Killed()
        return orig(model, batch, ctx)

    method.loss = dying
    torch.manual_seed(0)
    with pytest.raises(Killed):
        unlearn(copy.deepcopy(base), proc, method, pairs, cfg, checkpoint_dir=ckpt)
    torch.manual_seed(0)
    model, resumed = unlearn(copy.deepcopy(base), proc, get_method("gd")(), pairs, cfg, checkpoint_dir=ckpt)
    assert resumed.losses == pytest.approx(full.losses, rel=1e-5)
    for (n, a), b in zip(full_model.named_parameters(), model.parameters()):
        assert torch.allclose(a, b, atol=1e-6), n


def test_same_seed_same_numbers(tiny_vlm, samples, tmp_path, demo_source):
    """Unlearning and evaluation twice with one seed give identical weights and identical per-item logs."""
    from clear_bench.baselines import get_method
    from clear_bench.eval.config import EvalConfig
    from clear_bench.eval.run import evaluate
    from clear_bench.training.unlearn import UnlearnConfig, make_pairs, unlearn
    from clear_bench.utils import seed_everything

    base, proc = tiny_vlm
    cfg = UnlearnConfig(lora_r=4, lora_alpha=8, train=TrainConfig(epochs=1, lr=1e-3, batch_size=2, warmup_epochs=0))
    runs = []
    for k in range(2):
        seed_everything(3)
        model, result = unlearn(copy.deepcopy(base), proc, get_method("npo")(), make_pairs(samples[:3], samples[3:], 3),
                                cfg)
        evaluate(model, proc, demo_source, tmp_path / f"e{k}", EvalConfig(cap=2, max_new_tokens=4),
                 tasks=["forget_facerec", "real_world"], progress=False)
        runs.append((model, result))
    assert runs[0][1].losses == runs[1][1].losses
    for a, b in zip(runs[0][0].parameters(), runs[1][0].parameters()):
        assert torch.equal(a, b)
    for task in ("forget_facerec", "real_world"):
        assert (tmp_path / "e0" / f"{task}.jsonl").read_text() == (tmp_path / "e1" / f"{task}.jsonl").read_text()
