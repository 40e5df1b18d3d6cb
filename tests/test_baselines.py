"""Every registered method trains: its trainable parameters move, frozen ones stay; plug-ins load."""
import copy
import textwrap

import pytest
import torch

from clear_bench.baselines import UnlearningMethod, available, get_method
from clear_bench.data.sample import Sample
from clear_bench.errors import ClearBenchError, UnknownNameError
from clear_bench.training.loop import TrainConfig
from clear_bench.training.unlearn import UnlearnConfig, make_pairs, unlearn


@pytest.fixture(scope="module")
def toy_pairs():
    from PIL import Image

    faces = [Image.new("RGB", (32, 32), c) for c in ((200, 30, 30), (30, 200, 30), (30, 30, 200), (90, 90, 9))]
    forget = [Sample(f"f/{i}", "What can you see in this picture?", f"Anna Stone sits at a desk in Lyon {i}.",
                     image=faces[i]) for i in range(2)]
    forget += [Sample("f/t", "Where was Anna Stone born?", "Anna Stone was born in Lyon.")]
    retain = [Sample(f"r/{i}", "What can you see in this picture?", "Stone sits.", image=faces[2 + i])
              for i in range(2)] + [Sample("r/t", "Where was Anna Stone born?", "Lyon.")]
    return make_pairs(forget, retain, seed=0)


def _snapshot(model):
    return {n: p.detach().clone() for n, p in model.named_parameters()}


# exact-unlearning methods (sisa) retrain from the training data instead: tests/test_sisa.py
@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in available() if not get_method(n).retrains])
def test_every_method_moves_trainable_and_keeps_frozen(name, any_vlm, toy_pairs):
    from clear_bench.models.loading import vision_module_prefixes

    base, proc = any_vlm
    model = copy.deepcopy(base)
    before = _snapshot(model)
    method = get_method(name)()
    cfg = UnlearnConfig(lora_r=4, lora_alpha=8, train=TrainConfig(epochs=2, lr=5e-3, batch_size=3, warmup_epochs=0,
                                                                   weight_decay=0.0))
    captured = {}
    original_finish = method.finish

    def spy_finish(m, ctx):  # look at the peft model before merging
        captured["trainable"] = {n for n, p in m.named_parameters() if p.requires_grad}
        captured["moved"] = {n for n, p in m.named_parameters() if "lora_B" in n and p.abs().sum() > 0}
        return original_finish(m, ctx)

    method.finish = spy_finish
    merged, result = unlearn(model, proc, method, toy_pairs, cfg)
    assert result.steps == 2 and result.stopped_at is None
    assert captured["moved"], f"{name}: no LoRA weight moved"
    after = _snapshot(merged)
    vision = [n for n in after if any(n.startswith(v + ".") for v in vision_module_prefixes(base))]
    assert vision and all(torch.equal(before[n], after[n]) for n in vision), "vision tower must stay frozen"
    assert torch.equal(before["lm_head.weight"], after["lm_head.weight"])
    changed = [n for n in after if not torch.equal(before[n], after[n])]
    assert changed, f"{name}: merged weights did not change"


@pytest.mark.slow
def test_full_finetuning_unlearning_moves_only_trainable(tiny_vlm, toy_pairs):
    base, proc = tiny_vlm
    model = copy.deepcopy(base)
    before = _snapshot(model)
    cfg = UnlearnConfig(lora_r=0, train=TrainConfig(epochs=1, lr=1e-3, batch_size=3, warmup_epochs=0))
    merged, _ = unlearn(model, proc, get_method("rmu")(), toy_pairs, cfg)
    after = _snapshot(merged)
    moved = {n for n in after if not torch.equal(before[n], after[n])}
    assert moved and all("language_model.layers.0." in n for n in moved)  # RMU trains layers <= ℓ only


@pytest.mark.slow
def test_l1_penalty_shrinks_lora_weights(tiny_vlm, toy_pairs):
    base, proc = tiny_vlm
    norms = {}
    for lam in (0.0, 1.0):
        method = get_method("gd")()
        seen = {}
        orig = method.finish

        def spy(m, ctx, seen=seen, orig=orig):
            seen["l1"] = sum(p.abs().sum().item() for n, p in m.named_parameters() if "lora_" in n)
            return orig(m, ctx)

        method.finish = spy
        cfg = UnlearnConfig(lora_r=4, lora_alpha=8, l1_lambda=lam,
                            train=TrainConfig(epochs=3, lr=5e-3, batch_size=3, warmup_epochs=0, weight_decay=0.0))
        unlearn(copy.deepcopy(base), proc, method, toy_pairs, cfg)
        norms[lam] = seen["l1"]
    assert norms[1.0] < norms[0.0]


def test_unknown_method_names_the_valid_ones():
    with pytest.raises(UnknownNameError, match=r"unknown method 'npoo'.*Did you mean 'npo'"):
        get_method("npoo")


@pytest.mark.slow
def test_plugin_method_from_module_path(tmp_path, monkeypatch, tiny_vlm, toy_pairs):
    (tmp_path / "myunlearn.py").write_text(textwrap.dedent('''
        from clear_bench.baselines import UnlearningMethod
        from clear_bench.baselines.base import model_logits
        from clear_bench.baselines.losses import cross_entropy

        class HalfAscent(UnlearningMethod):
            name = "half_ascent"
            streams = ("forget", "retain")

            def loss(self, model, batch, ctx):
                f, r = batch["forget"], batch["retain"]
                return (-0.5 * cross_entropy(model_logits(model, f), f["labels"])
                        + cross_entropy(model_logits(model, r), r["labels"]))
        '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    cls = get_method("myunlearn:HalfAscent")
    assert issubclass(cls, UnlearningMethod)
    base, proc = tiny_vlm
    cfg = UnlearnConfig(lora_r=4, train=TrainConfig(epochs=1, lr=1e-3, batch_size=3, warmup_epochs=0))
    _, result = unlearn(copy.deepcopy(base), proc, cls(), toy_pairs, cfg)
    assert result.steps == 1
    with pytest.raises(ClearBenchError, match=r"cannot import method"):
        get_method("nosuchmodule_xyz:Method")


def test_plugin_in_the_working_folder_imports_from_a_console_script(tmp_path, monkeypatch):
    """`clear-eval --method mymethods:X` with mymethods.py in the working folder (README): a console script's
    sys.path holds its own bin folder, not the working folder."""
    import sys

    (tmp_path / "mymethods_cwd.py").write_text("from clear_bench.baselines import UnlearningMethod\n"
                                                "class Mine(UnlearningMethod):\n    name = 'mine'\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    assert get_method("mymethods_cwd:Mine").name == "mine"


@pytest.mark.slow
def test_non_finite_loss_stops_and_keeps_last_good_state(tiny_vlm, toy_pairs):
    base, proc = tiny_vlm

    class Exploding(UnlearningMethod):
        name = "exploding"
        streams = ("forget",)

        def loss(self, model, batch, ctx):
            from clear_bench.baselines.base import model_logits
            from clear_bench.baselines.losses import cross_entropy

            f = batch["forget"]
            ce = cross_entropy(model_logits(model, f), f["labels"])
            return ce * float("nan") if ctx.step == 1 else ce

    cfg = UnlearnConfig(lora_r=0, train=TrainConfig(epochs=3, lr=1e-3, batch_size=3, warmup_epochs=0))
    model = copy.deepcopy(base)
    _, result = unlearn(model, proc, Exploding(), toy_pairs, cfg)
    assert result.stopped_at == 1 and result.steps == 0
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_sku_disassociates_with_forget_answers_only():
    """SKU learns, then negates, its stage-1 task vector: its mismatched answers must come from other forget
    persons, never from retain persons (negating those would unlearn the retain set)."""
    forget = [Sample(f"f/{i}", "What can you see in this picture?", f"forget answer {i}.", image=object())
              for i in range(3)] + [Sample(f"f/t{i}", "Where was he born?", f"forget city {i}.") for i in range(2)]
    retain = [Sample(f"r/{i}", "What can you see in this picture?", f"retain answer {i}.", image=object())
              for i in range(4)] + [Sample("r/t", "Where was he born?", "retain city.")]
    pairs = make_pairs(forget, retain, seed=5)
    assert get_method("sku").streams == ("forget", "forget_mismatch", "retain")
    for p in pairs:
        m, f = p["forget_mismatch"], p["forget"]
        assert m.answer.startswith("forget") and m.answer != f.answer and m.question == f.question
        assert m.has_image == f.has_image
    # the new stream draws from its own generator: the other streams are what they were before it existed
    assert [p["retain"].item_id for p in pairs] == ["r/2", "r/3", "r/0", "r/2", "r/3"]  # (the draws before)
