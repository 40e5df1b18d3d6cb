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


# Parameters that require grad but that a method legitimately leaves alone (the optimiser never sees them).
CANNOT_MOVE = {"rmu": "adapters outside layers ℓ-k+1..ℓ: RMU trains the layers up to the steered one only"}


# exact-unlearning methods (sisa) retrain from the training data instead: tests/test_sisa.py
@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in available() if not get_method(n).retrains])
def test_every_method_moves_every_trainable_weight_and_no_frozen_one(name, any_vlm, toy_pairs):
    """As trl's trainer tests do: every parameter the method trains moved, every other one did not (checked on the
    LoRA model before merging), and after merging the vision tower and the LM head are the target's."""
    from _effects import run

    from clear_bench.models.loading import vision_module_prefixes

    base, proc = any_vlm
    before = _snapshot(base)
    # 3 steps: LoRA's A gets no gradient while B is 0 (step 1), SCRUB's first max-step starts at KL = 0 (no
    # gradient either)
    cfg = UnlearnConfig(lora_r=4, lora_alpha=8, train=TrainConfig(epochs=3, lr=5e-3, batch_size=3, warmup_epochs=0,
                                                                   weight_decay=0.0))
    merged, _, result, w = run(base, proc, name, toy_pairs.forget, toy_pairs.retain, cfg)
    assert result.steps == 3 and result.stopped_at is None
    requires_grad = w["requires_grad"]
    assert w["trained"] and w["trained"] <= requires_grad and all("lora_" in n for n in requires_grad)
    if name not in CANNOT_MOVE:
        assert w["trained"] == requires_grad, f"{name}: trains only some adapters"
    unmoved = sorted(n for n in w["trained"] if torch.equal(w["before"][n], w["after"][n]))
    assert not unmoved, f"{name}: trained weights that did not move: {unmoved}"
    moved_frozen = sorted(n for n in w["before"] if n not in w["trained"]
                          and not torch.equal(w["before"][n], w["after"][n]))
    assert not moved_frozen, f"{name}: weights outside the optimiser moved: {moved_frozen}"
    after = _snapshot(merged)
    vision = [n for n in after if any(n.startswith(v + ".") for v in vision_module_prefixes(base))]
    assert vision and all(torch.equal(before[n], after[n]) for n in vision), "vision tower must stay frozen"
    assert torch.equal(before["lm_head.weight"], after["lm_head.weight"])
    assert any(not torch.equal(before[n], after[n]) for n in after), f"{name}: merged weights did not change"


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


@pytest.mark.parametrize("typed, meant", [("npoo", "npo"), ("nppo", "npo"), ("NPO", "npo"), ("Retain_FT", "retain_ft"),
                                           ("SimNPO", "simnpo")])
def test_unknown_method_names_the_valid_ones_and_suggests_the_meant_one(typed, meant):
    with pytest.raises(UnknownNameError, match=rf"unknown method '{typed}'; valid: dpo, .*Did you mean '{meant}'"):
        get_method(typed)


@pytest.mark.parametrize("name", available())
def test_every_numeric_method_setting_declares_its_range_and_its_default_is_inside(name):
    import dataclasses

    from clear_bench.config import check_settings, field_range

    cfg = get_method(name).Config
    for f in dataclasses.fields(cfg):
        if f.type in ("int", "float", "str", int, float, str):
            assert field_range(f) is not None, f"{name}.{f.name} has no range (config.setting)"
    check_settings(cfg())


@pytest.mark.parametrize("method, arg, message", [
    ("npo", "beta=0", "--method-arg beta must be > 0 (got 0.0)"),  # was a ZeroDivisionError after fine-tuning
    ("npo", "beta=nan", "--method-arg beta must be a finite number (got nan)"),  # was found only at the loss
    ("npo", "beta=-inf", "--method-arg beta must be a finite number (got -inf)"),
    ("gd", "retain_weight=-5", "--method-arg retain_weight must be >= 0 (got -5.0)"),  # was accepted
    ("dpo", "beta=-0.1", "--method-arg beta must be > 0 (got -0.1)"),
    ("scrub", "max_epochs=-1", "--method-arg max_epochs must be >= 0 (got -1)"),
    ("scrub", "max_epochs=2.5", "method 'scrub': max_epochs='2.5' is not a valid int"),
    ("sisa", "aggregate=median", "--method-arg aggregate must be one of logits, mean, sum (got median)"),
    ("sisa", "shards=0", "--method-arg shards must be >= 1 (got 0)"),
    ("rmu", "trained_layers=0", "--method-arg trained_layers must be >= 1 (got 0)"),
    ("sku", "negation_scale=0", "--method-arg negation_scale must be > 0 (got 0.0)"),
])
def test_method_settings_are_refused_in_one_line(method, arg, message):
    from clear_bench.baselines import build_method

    key, value = arg.split("=")
    with pytest.raises(ClearBenchError) as e:
        build_method(method, {key: value})
    assert str(e.value) == message


@pytest.mark.parametrize("track", ["multimodal", "text"])
def test_a_bad_method_setting_stops_the_run_before_any_fine_tuning(track, demo_source, tmp_path, monkeypatch,
                                                                   capsys):
    from clear_bench import job
    from clear_bench.cli import clear_eval_main
    def no_work(*a, **k):
        raise AssertionError("fine-tuning started")

    monkeypatch.setattr(job, "cached_finetune", no_work)
    out = tmp_path / "run"
    argv = ["--preset", "demo", "--track", track, "--method", "npo", "--method-arg", "beta=0", "--out", str(out)]
    if track == "text":
        argv += ["--modality", "text"]
    assert clear_eval_main(argv) != 0
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert err == ["error: --method-arg beta must be > 0 (got 0.0)"]
    assert not out.exists()


def test_plugin_method_settings_are_checked_like_the_built_in_ones(tmp_path, monkeypatch):
    (tmp_path / "myranged.py").write_text(textwrap.dedent('''
        from dataclasses import dataclass

        from clear_bench.baselines import UnlearningMethod
        from clear_bench.config import setting

        @dataclass
        class Cfg:
            """Attributes:
                temperature: softmax temperature.
                weight: a weight without a declared range.
            """
            temperature: float = setting(2.0, gt=0)
            weight: float = 1.0

        class Ranged(UnlearningMethod):
            name = "ranged"
            Config = Cfg

            def loss(self, model, batch, ctx):
                return 0.0
        '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    from clear_bench.baselines import build_method

    assert build_method("myranged:Ranged", {"temperature": "4"}).config.temperature == 4.0
    with pytest.raises(ClearBenchError, match=r"^--method-arg temperature must be > 0 \(got -1.0\)$"):
        build_method("myranged:Ranged", {"temperature": "-1"})
    with pytest.raises(ClearBenchError, match=r"^--method-arg weight must be a finite number \(got nan\)$"):
        build_method("myranged:Ranged", {"weight": "nan"})


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


def test_companions_are_redrawn_per_epoch_from_the_seed_alone():
    """Retain rows and mismatched answers are drawn anew every epoch (as the CLEAR reference's dataset draws them
    on every access), from (seed, epoch, item) only; refusals stay fixed (DPO caches their reference likelihood)."""
    import random

    from clear_bench.training.unlearn import PairCollator

    forget = [Sample(f"f/{i}", "Where was he born?", f"forget city {i}.") for i in range(4)]
    retain = [Sample(f"r/{i}", "Where was he born?", f"retain city {i}.") for i in range(40)]
    pairs = make_pairs(forget, retain, seed=5)
    random.seed(1)
    torch.manual_seed(1)
    again = make_pairs(forget, retain, seed=5)  # the global generators play no part
    for e in range(5):
        assert [again.draw(i, e) for i in range(4)] == [pairs.draw(i, e) for i in range(4)]
    epochs = [[pairs.draw(i, e) for i in range(4)] for e in range(5)]
    assert epochs[0] == list(pairs)
    for stream in ("retain", "mismatch", "forget_mismatch"):
        assert len({(i, p[stream].answer) for ep in epochs for i, p in enumerate(ep)}) > 4, stream
    assert len({(p["idk"].item_id, p["idk"].answer) for ep in epochs for p in ep}) == 4
    assert [p["retain"] for p in make_pairs(forget, retain, seed=6)] != [p["retain"] for p in pairs]

    class Processor:  # records what the collator is asked to collate
        pass

    collate = PairCollator(Processor(), ("retain",), pairs)
    seen = []
    collate.collate = lambda samples: seen.append([s.item_id for s in samples]) or {}
    for e in (0, 3):
        collate.set_epoch(e)
        collate(list(pairs))
    assert seen == [[p["retain"].item_id for p in epochs[e]] for e in (0, 3)]


@pytest.mark.parametrize("name", [n for n in available() if get_method(n).demo_overrides])
def test_demo_overrides_name_real_settings(name):
    from clear_bench.presets import get_preset
    from clear_bench.training.unlearn import with_overrides

    cls = get_method(name)
    assert set(cls.demo_overrides) <= {"unlearn", "train", "method"}
    with_overrides(get_preset("demo").unlearn, cls.demo_overrides)  # unknown fields raise TypeError
    cls.Config(**cls.demo_overrides.get("method", {}))


def test_the_job_applies_demo_overrides_with_the_demo_preset_and_flags_win(demo_source, tmp_path):
    from clear_bench.job import JobConfig, resolve
    from clear_bench.presets import get_preset

    def settings(**kw):
        job = resolve(JobConfig(preset="demo", out=str(tmp_path / "run"), **kw))
        return job.preset, job.method, job.unlearn.train

    preset, method, train = settings(method="dpo")
    assert (preset.unlearn.lora_r, train.epochs, train.lr, method.config.beta) == (0, 75, 5e-4, 0.01)
    assert train.batch_size == get_preset("demo").unlearn.train.batch_size
    _, method, train = settings(method="dpo", epochs=3, lr=1e-3, method_args={"beta": "0.2"})
    assert (train.epochs, train.lr, method.config.beta) == (3, 1e-3, 0.2)
    preset, method, train = settings(method="gd")
    assert (preset.unlearn.lora_r, train.epochs) == (8, 10)
    assert not (tmp_path / "run").exists()  # resolving writes nothing
