"""Every unlearning method shows its own intended effect on the demo's target model (issue 13).

Each test unlearns 8 forget items (4 captions, 4 TOFU answers; the refusal test all 10 of the demo's) of the
demo's fine-tuned target with the demo preset's recipe and the method's `demo_overrides` (what `clear-eval --preset
demo` runs, on fewer items), on both tiny architectures, and measures what the method targets. Margins are about
half the effect measured with OMP_NUM_THREADS=1 and 2 (figures in the comments: LLaVA / Qwen2-VL, 1 thread unless
both are given; the unlearning itself gave the same figures with 1 and 2 threads, the demo models fine-tuned with
2 threads differ).
"""
import pytest
import torch
from _effects import answer_logprob, kl_teacher_student, layer_activations, run

from clear_bench.baselines import get_method

pytestmark = pytest.mark.slow

N = 4  # forget items of each kind


@pytest.fixture(scope="module", params=["tiny", "tiny-qwen2vl"])
def world(request, demo_source, demo_models):
    """(target model, processor, forget items, retain pool, retain probe items) of one architecture."""
    from clear_bench.data.convert import training_samples
    from clear_bench.job import cached_finetune
    from clear_bench.models.loading import load_model
    from clear_bench.presets import get_preset

    path = demo_models["target"] if request.param == "tiny" else \
        cached_finetune(get_preset("demo"), demo_source, "full", request.param)
    model, processor = load_model(str(path))
    forget = training_samples(demo_source.load("clear", "forget10+tofu"), demo_source.clear, "forget10+tofu")
    retain = training_samples(demo_source.load("clear", "retain90+tofu"), demo_source.clear, "retain90+tofu")
    forget = [s for s in forget if s.has_image][:N] + [s for s in forget if not s.has_image][:N]
    probe = [s for s in retain if s.has_image][-N:] + [s for s in retain if not s.has_image][-N:]
    return model, processor, forget, retain, probe


def unlearned(world, name, forget=None):
    from clear_bench.presets import get_preset
    from clear_bench.training.unlearn import with_overrides

    model, processor, world_forget, retain, _ = world
    forget = world_forget if forget is None else forget
    cls = get_method(name)
    config = with_overrides(get_preset("demo").unlearn, cls.demo_overrides)
    out, method, result, _ = run(model, processor, name, forget, retain, config, cls.demo_overrides.get("method"))
    assert result.stopped_at is None
    return out, method


def prob(model, processor, samples) -> float:
    """Mean over items of the per-token (geometric-mean) probability of the answer."""
    return answer_logprob(model, processor, samples).exp().mean().item()


# Forget answers' per-token probability, before -> after. The demo models themselves differ with the thread count,
# so both are listed (LLaVA 1 thread, 2 threads / Qwen2-VL 1 thread, 2 threads; 0.990, 0.996 / 0.988, 0.988 before):
# ga 0.54, 0.57 / 0.65, 0.71; gd 0.75, 0.85 / 0.66, 0.80; kl 0.74, 0.64 / 0.66, 0.73; npo 0.55, 0.55 / 0.65, 0.69;
# simnpo 0.81, 0.88 / 0.68, 0.77; llmu 0.85, 0.94 / 0.92, 0.92 (its ascent term has weight 0.5).
# Required drop: about half the smallest measured one.
MIN_DROP = {"ga": 0.05, "gd": 0.05, "kl": 0.05, "npo": 0.05, "simnpo": 0.05, "llmu": 0.025}


@pytest.mark.parametrize("name", MIN_DROP)
def test_lowers_the_forget_answers_probability(world, name):
    model, processor, forget, _, _ = world
    before = prob(model, processor, forget)
    out, _ = unlearned(world, name)
    after = prob(out, processor, forget)
    print(f"{name}: forget p {before:.3f} -> {after:.3f}")
    assert after < before - MIN_DROP[name], f"{name}: forget answers' probability {before:.3f} -> {after:.3f}"


def real_metric(model, processor, source, out) -> float:
    """The Real metric (real faces and real-world questions) as the demo preset evaluates it."""
    from clear_bench.eval.config import EvalConfig
    from clear_bench.eval.run import evaluate
    from clear_bench.presets import get_preset

    preset = get_preset("demo")
    summary = evaluate(model, processor, source, out, EvalConfig(cap=preset.eval_cap,
                                                                 max_new_tokens=preset.max_new_tokens),
                       tasks=["real_faces", "real_world"], progress=False)
    return summary["metrics"]["real_metric"]["value"]


@pytest.mark.parametrize("name", ["idk", "dpo"])
def test_makes_a_refusal_more_likely_than_the_true_answer_and_keeps_the_real_world(world, name, demo_source,
                                                                                   tmp_path):
    """On the demo's whole forget set (10 items, what `clear-eval --preset demo` unlearns; the more forget images
    a refusal is taught on, the more it spreads to the real faces), per token, the refusal each forget question was
    trained with against the true answer: before, the answer is far more likely (gap -11.9 nats a token on LLaVA,
    -10.7 on Qwen2-VL); after, the refusal wins on every item, and the Real metric keeps at least half the
    target's (issue 22: with lr 1e-3 for 50 epochs IDK kept 0.26 and DPO 0.00 of LLaVA's 0.99).
    Measured, LLaVA / Qwen2-VL, 1 thread: idk mean +1.76 / +0.86, smallest +0.93 / +0.63, Real 0.991 -> 0.749 /
    0.983 -> 0.967; dpo mean +10.45 / +20.89, smallest +1.18 / +20.10, Real 0.991 -> 0.652 / 0.983 -> 0.958."""
    from clear_bench.data.convert import training_samples
    from clear_bench.training.unlearn import make_pairs

    model, processor, _, retain, _ = world
    forget = training_samples(demo_source.load("clear", "forget10+tofu"), demo_source.clear, "forget10+tofu")
    refusals = [p["idk"] for p in make_pairs(forget, retain, 0)]

    def gap(m):
        return answer_logprob(m, processor, refusals) - answer_logprob(m, processor, forget)

    assert (gap(model) < -5).all()
    real_before = real_metric(model, processor, demo_source, tmp_path / "before")
    out, _ = unlearned(world, name, forget)
    after, real_after = gap(out), real_metric(out, processor, demo_source, tmp_path / "after")
    print(f"{name}: refusal - answer per token {gap(model).mean():.2f} -> {after.mean():.2f}, min {after.min():.2f};"
          f" real metric {real_before:.3f} -> {real_after:.3f}")
    assert after.mean() > 0.3, f"{name}: refusal - answer log p per token {after.tolist()}"
    assert (after > 0).all(), after.tolist()
    assert real_after >= 0.5 * real_before, f"{name}: real metric {real_before:.3f} -> {real_after:.3f}"


def test_rmu_steers_forget_activations_towards_the_control_vector(world):
    """Layer-ℓ activations at the answer and image positions: forget ones turn towards c·u (cosine 0.00 -> 0.82 on
    LLaVA, 0.91 on Qwen2-VL; 0.73, 0.85 with 2 threads), retain ones follow far less (cosine 0.32, 0.13; 0.15,
    0.21; relative distance to the target's 0.78 against 2.1 for forget, 0.48 against 3.1; 0.44 against 1.4,
    0.48 against 2.2)."""
    model, processor, forget, _, probe = world
    out, method = unlearned(world, "rmu")
    info = method.info["rmu"]
    assert info["steering_coeff"] == pytest.approx(info["norm_multiplier"] * info["activation_norm"], rel=1e-4)
    u = method.control / method.control.norm()
    layer = method.l

    def acts(m, samples):
        return layer_activations(m, processor, samples, layer)

    def cos(h):
        return torch.nn.functional.cosine_similarity(h, u[None].expand_as(h), dim=-1).mean().item()

    def moved(h, h0):
        return ((h - h0).norm(dim=-1) / h0.norm(dim=-1)).mean().item()

    f0, f1, r0, r1 = acts(model, forget), acts(out, forget), acts(model, probe), acts(out, probe)
    print(f"rmu: {info}; cos to u forget {cos(f0):.3f} -> {cos(f1):.3f}, retain {cos(r0):.3f} -> {cos(r1):.3f}; "
          f"moved forget {moved(f1, f0):.3f}, retain {moved(r1, r0):.3f}")
    assert info["activation_norm"] == pytest.approx(f0.norm(dim=-1).mean().item(), rel=1e-3)
    assert abs(cos(f0)) < 0.05 and abs(cos(r0)) < 0.05
    assert cos(f1) > 0.4, f"forget cosine to u {cos(f1):.3f}"
    assert cos(r1) < 0.6 * cos(f1), f"retain cosine to u {cos(r1):.3f} vs forget {cos(f1):.3f}"
    assert moved(r1, r0) < 0.6 * moved(f1, f0), f"retain moved {moved(r1, r0):.3f}, forget {moved(f1, f0):.3f}"


def test_scrub_moves_away_from_the_teacher_on_forget_only(world):
    """KL(teacher || student) per answer token: 0 before (the student is the teacher); after, 0.38 on forget and
    0.03 on retain (LLaVA), 0.70 and 0.003 (Qwen2-VL); with 2 threads 0.30 and 0.002, 0.67 and 0.002."""
    model, processor, forget, _, probe = world
    out, _ = unlearned(world, "scrub")
    on_forget, on_retain = kl_teacher_student(out, model, processor, forget), kl_teacher_student(out, model, processor,
                                                                                                  probe)
    print(f"scrub: KL(teacher||student) forget {on_forget:.3f}, retain {on_retain:.4f}")
    assert on_forget > 0.15, f"forget KL {on_forget:.3f}"
    assert on_retain < on_forget / 4, f"retain KL {on_retain:.4f} vs forget {on_forget:.3f}"


def test_sku_negation_lowers_forget_answers_more_than_retain_ones(world):
    """SKU negates what stage 1 learnt on the forget answers: they fall (LLaVA 0.99 -> 0.67, Qwen2-VL 0.99 -> 0.93)
    more than retain answers (0.996 -> 0.90, 0.990 -> 0.986); with 2 threads forget 0.996 -> 0.66, 0.988 -> 0.92,
    retain 0.997 -> 0.94, 0.989 -> 0.985."""
    model, processor, forget, _, probe = world
    f0, r0 = prob(model, processor, forget), prob(model, processor, probe)
    out, _ = unlearned(world, "sku")
    f1, r1 = prob(out, processor, forget), prob(out, processor, probe)
    print(f"sku: forget p {f0:.3f} -> {f1:.3f}, retain p {r0:.3f} -> {r1:.3f}")
    assert f0 - f1 > 0.025 and f0 - f1 > 2 * (r0 - r1), f"forget {f0:.3f} -> {f1:.3f}, retain {r0:.3f} -> {r1:.3f}"


def test_retain_ft_keeps_retain_and_barely_touches_forget(world):
    """The 'do nothing clever' baseline (retain_ft.py): retain answers stay as likely (0.996 -> 0.996), and forget
    answers change only by interference (0.990 -> 0.989)."""
    model, processor, forget, _, probe = world
    f0, r0 = prob(model, processor, forget), prob(model, processor, probe)
    out, _ = unlearned(world, "retain_ft")
    f1, r1 = prob(out, processor, forget), prob(out, processor, probe)
    print(f"retain_ft: forget p {f0:.3f} -> {f1:.3f}, retain p {r0:.3f} -> {r1:.3f}")
    assert r1 > r0 - 0.01 and abs(f1 - f0) < 0.05, f"forget {f0:.3f} -> {f1:.3f}, retain {r0:.3f} -> {r1:.3f}"
