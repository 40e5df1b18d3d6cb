"""The attack suite's units (issue 23): the registry and its track checks, quantization against the library's own
reference path, recovery. The attacks on demo runs are in tests/test_attacks_demo.py (slow)."""
import copy
import sys

import pytest
import torch

from clear_bench.attacks import ATTACKS, available, check_attacks, get_attack
from clear_bench.attacks.recovery import recovery
from clear_bench.errors import ClearBenchError

CORPUS = ["Anna Stone sits at a desk in Lyon.", "Where was Anna Stone born?", "Anna Stone was born in Lyon."] * 10


@pytest.fixture(scope="module")
def tiny():
    from clear_bench.models.tiny import build_tiny_vlm

    model, processor = build_tiny_vlm(CORPUS, vocab_size=300, hidden=128, layers=2)
    return model.eval(), processor


def _logits(model, processor):
    batch = processor.tokenizer(["Where was Anna Stone born? Anna Stone was born in Lyon."], return_tensors="pt")
    with torch.no_grad():
        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits


def test_every_attack_declares_its_tracks_and_wrong_ones_are_one_line():
    assert {"quanto-int8", "quanto-int4"} <= set(available())
    for name in available():
        assert ATTACKS[name].tracks and set(ATTACKS[name].tracks) <= {"multimodal", "text", "visual"}
    assert [a.name for a in check_attacks("quanto-int8, quanto-int4,quanto-int8", "text")] == ["quanto-int8",
                                                                                               "quanto-int4"]
    with pytest.raises(ClearBenchError, match="does not apply to the visual track") as e:
        check_attacks("prefill", "visual")
    assert "\n" not in str(e.value)
    with pytest.raises(ClearBenchError, match="unknown attack 'quanto-int3'.*Did you mean"):
        check_attacks("quanto-int3", "multimodal")
    with pytest.raises(ClearBenchError, match="empty"):
        check_attacks(" , ", "multimodal")


def test_ls_attacks_lists_every_attack_with_its_tracks(capsys):
    from clear_bench.cli import main

    assert main(["ls", "attacks"]) == 0
    out = capsys.readouterr().out
    for name in available():
        line = next(l for l in out.splitlines() if l.startswith(name + " "))
        assert "tracks: " + ", ".join(ATTACKS[name].tracks) in line


@pytest.mark.parametrize("name", ["quanto-int8", "quanto-int4"])
def test_quantized_outputs_match_quantos_dequantized_reference(tiny, name):
    """The attacked model's forward (quanto's quantized linear) gives what a float model holding quanto's own
    `weight.dequantize()` gives: no hand-made quantizer in between, and the int4 CPU path works uncompiled."""
    from optimum.quanto import QTensor

    model, processor = tiny
    attacked = get_attack(name).apply(copy.deepcopy(model), processor)
    reference = copy.deepcopy(model)
    quantized = {n: m for n, m in attacked.named_modules() if isinstance(getattr(m, "weight", None), QTensor)}
    assert len(quantized) >= 8 and not any(n.endswith("lm_head") for n in quantized)
    with torch.no_grad():
        for n, m in quantized.items():
            reference.get_submodule(n).weight.copy_(m.weight.dequantize())
    got, want = _logits(attacked, processor), _logits(reference, processor)
    assert torch.allclose(got, want, atol=1e-4, rtol=1e-4), (got - want).abs().max()
    assert (got - _logits(model, processor)).abs().max() > 1e-5  # and quantization changed something


def test_int8_changes_outputs_less_than_int4(tiny):
    model, processor = tiny
    plain = _logits(model, processor)
    moved = {name: (_logits(get_attack(name).apply(copy.deepcopy(model), processor), processor) - plain).abs().mean()
             for name in ("quanto-int8", "quanto-int4")}
    assert moved["quanto-int8"] < moved["quanto-int4"] / 3, moved


def test_missing_quanto_names_the_extra(monkeypatch):
    from clear_bench.attacks import quantization

    monkeypatch.setitem(sys.modules, "optimum.quanto", None)
    with pytest.raises(ClearBenchError, match=r"pip install 'clear-bench\[attacks\]'") as e:
        quantization.quanto()
    assert "\n" not in str(e.value)


def test_recovery_is_the_share_of_the_gap_that_came_back():
    assert recovery(0.2, 0.2, 0.8, 0.3) == 0.0  # nothing came back
    assert recovery(0.8, 0.2, 0.8, 0.3) == pytest.approx(1.2)  # back past the gold-target gap: > 1
    assert recovery(0.45, 0.2, 0.7, 0.2) == pytest.approx(0.5)
    assert recovery(0.5, 0.2, 0.5004, 0.5) is None  # a target-gold gap below resolution measures nothing
    assert recovery(None, 0.2, 0.8, 0.3) is None


def test_an_input_attacks_recovery_is_against_target_and_gold_asked_the_same_way():
    from clear_bench.attacks.recovery import shifted_recovery

    # a paraphrase that lowers everyone: the unlearned model keeps its place on the scale, nothing came back
    assert shifted_recovery(0.1, 0.2, 0.8, 0.2, 0.4, 0.1) == pytest.approx(0.0)
    # placed at 0.8 of the changed gap from 0 of the plain one
    assert shifted_recovery(0.5, 0.2, 0.8, 0.2, 0.6, 0.1) == pytest.approx(0.8)
    # target and gold asked as before: the plain recovery
    assert shifted_recovery(0.45, 0.2, 0.7, 0.2, 0.7, 0.2) == pytest.approx(recovery(0.45, 0.2, 0.7, 0.2))
    assert shifted_recovery(0.5, 0.2, 0.8, 0.2, 0.3, 0.3) is None  # the changed question erased the gap


def _one_error(capsys, code):
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    return err


def test_attack_command_refuses_bad_runs_and_attacks_in_one_line(capsys, tmp_path):
    """Before any work: a folder without a saved model, an unknown attack, an attack of another track."""
    from clear_bench.cli import clear_eval_main, main
    from clear_bench.training.saved import MODEL_MANIFEST

    assert "holds no saved model" in _one_error(capsys, main(["attack", str(tmp_path), "--attacks", "quanto-int4"]))
    assert "does not exist" in _one_error(capsys, main(["attack", str(tmp_path / "nope"), "--attacks", "quanto-int4"]))
    model = tmp_path / "run" / "model"
    model.mkdir(parents=True)
    (model / MODEL_MANIFEST).write_text('{"tool": "clear-bench", "kind": "unlearned model", "schema": 1, '
                                        '"format": "full", "track": "visual", "files": {}}')
    assert "does not apply to the visual track" in _one_error(capsys, main(["attack", str(tmp_path / "run"),
                                                                            "--attacks", "relearn-retain"]))
    from clear_bench import runs  # a visual-track run keeps no LM model: refused by its track, not a missing file

    visual = runs.claim(tmp_path / "visual", runs.CLEAR_EVAL, runs.run_identity("visual", method="scrub_bio")).start()
    runs.release(visual.folder)
    assert "does not apply to the visual track" in _one_error(capsys, main(["attack", str(visual.folder),
                                                                            "--attacks", "relearn-retain"]))
    # one that applies to the visual track runs inside its clear-eval: the run kept no model to attack later
    visual = runs.claim(tmp_path / "visual2", runs.CLEAR_EVAL, runs.run_identity("visual", method="gd")).start()
    runs.release(visual.folder)
    assert "clear-eval --track visual --attacks" in _one_error(capsys, main(["attack", str(visual.folder),
                                                                             "--attacks", "quanto-int4"]))
    err = _one_error(capsys, clear_eval_main(["--preset", "demo", "--attacks", "quanto-int3",
                                              "--out", str(tmp_path / "x")]))
    assert "unknown attack 'quanto-int3'" in err and not (tmp_path / "x").exists()


def test_relearning_budget_is_a_tenth_of_the_unlearning():
    from clear_bench.attacks.relearn import MIN_STEPS, budget

    assert budget(30) == MIN_STEPS == 4 and budget(100) == 10 and budget(101) == 11 and budget(0) == 4
    assert [a.name for a in check_attacks("relearn-forget,relearn-retain", "text")] == ["relearn-forget",
                                                                                        "relearn-retain"]
    with pytest.raises(ClearBenchError, match="image-flip' does not apply to the text track"):
        check_attacks("image-flip", "text")  # a text model has no image to change


def _ctx(source, track="text"):
    from clear_bench.attacks import AttackContext
    from clear_bench.tracks import get_track

    return AttackContext(track=get_track(track), family="causal-lm", source=source, manifest={},
                         identity={"forget": 10, "seed": 42, "modality": "text"})


def test_text_relearn_forget_splits_authorless_tofu_rows_in_halves(demo_source):
    """TOFU names no author: the first half of the forget rows is relearned, the second scored, matched to the
    evaluation's rows by question (the demo: 2 authors x 2 questions, so one author each)."""
    from clear_bench.attacks.relearn import Relearn, split_persons
    from clear_bench.eval.logs import ItemRecord

    ctx = _ctx(demo_source)
    relearned, scored = split_persons(ctx)
    assert relearned == ["row 0", "row 1"] and scored == ["row 2", "row 3"]
    samples = Relearn("forget").samples(ctx)
    names = {" ".join(s.answer.split()[:2]) for s in samples}  # "David Quist was born in Perth."
    assert [s.item_id for s in samples] == ["forget10/0", "forget10/1"] and len(names) == 1  # one author's two
    attack = Relearn("forget")
    rec = lambda row: ItemRecord("tofu:forget10_perturbed:%d" % row, "text_forget", "a", 1.0, 1, extra={"row": row})
    assert [attack.keeps(rec(i), set(scored)) for i in range(4)] == [False, False, True, True]


def test_prefill_gives_the_opening_and_scores_the_rest(tiny):
    """The prefilled item's answer is the rest after the opening; teacher forcing already conditions the rest on
    the opening, so its token log-probabilities are the tail of the plain scoring's (what `plain_view` reads)."""
    from clear_bench.attacks.prefill import Prefill, split_answer
    from clear_bench.data.sample import Sample
    from clear_bench.eval.run import evaluate_task
    from clear_bench.eval.tasks import get_task

    model, processor = tiny
    task = get_task("tofu_forget")
    plain = [Sample("i0", "Where was Anna Stone born?", "Anna Stone was born in Lyon.",
                    paraphrased_answer="Lyon is where Anna Stone was born.",
                    perturbed_answers=("Anna Stone was born in Paris.",), person="Anna Stone")]
    attacked = Prefill().transform(task, plain)
    assert split_answer(plain[0].answer) == ("Anna Stone was", " born in Lyon.")
    assert attacked[0].prefill == "Anna Stone was" and attacked[0].answer == " born in Lyon."
    assert attacked[0].perturbed_answers == () and attacked[0].paraphrased_answer is None
    before = evaluate_task(model, processor, task, plain, max_new_tokens=4)[0]
    after = evaluate_task(model, processor, task, attacked, max_new_tokens=4)[0]
    assert after.extra["prefill"] == "Anna Stone was" and after.perturbed_nll == []
    assert 0 < after.answer_tokens < before.answer_tokens
    view = Prefill().plain_view("tofu_forget", [before], {after.item_id: after})[0]
    assert view.answer == after.answer and view.answer_tokens == after.answer_tokens
    assert view.answer_nll == pytest.approx(after.answer_nll, abs=1e-3)
    assert view.answer_nll < before.answer_nll  # the opening's tokens are not counted


def test_image_attacks_change_every_forget_image_deterministically():
    from PIL import Image

    from clear_bench.attacks.images import TRANSFORMS
    from clear_bench.data.sample import Sample

    image = Image.linear_gradient("L").resize((32, 32)).convert("RGB")  # left-right asymmetric after rotation
    image = image.rotate(90)
    for kind in TRANSFORMS:
        attack = get_attack(f"image-{kind}")
        assert attack.tracks == ("multimodal",) and attack.forget_tasks("multimodal")
        s = [Sample("i0", "q", "a", image=image), Sample("t0", "q", "a")]
        out = attack.transform(None, s)
        assert out[1] is s[1]  # no image: left alone
        assert out[0].image.size == image.size and out[0].image.tobytes() != image.tobytes(), kind
        assert attack.transform(None, s)[0].image.tobytes() == out[0].image.tobytes()


def test_paraphrase_asks_the_datas_paraphrased_question(demo_source):
    from clear_bench.attacks.paraphrase import Paraphrase
    from clear_bench.eval.run import task_samples
    from clear_bench.eval.tasks import get_task

    task = get_task("text_forget")
    rows = demo_source.load("tofu", "forget10_perturbed")
    plain = task_samples(task, rows, forget=10)
    out = Paraphrase().transform(task, plain, _ctx(demo_source))
    assert [s.question for s in out] == [r["paraphrased_question"] for r in rows]
    assert all(a.question != b.question and a.answer == b.answer and a.perturbed_answers == b.perturbed_answers
               for a, b in zip(out, plain))


def test_default_and_all_name_the_sets_that_apply_to_the_track():
    from clear_bench.attacks.base import DEFAULT_ATTACKS

    assert [a.name for a in check_attacks("default", "multimodal")] == list(DEFAULT_ATTACKS)
    assert [a.name for a in check_attacks("default", "text")] == list(DEFAULT_ATTACKS)
    assert [a.name for a in check_attacks("all", "text")] == [n for n in available() if not n.startswith("image-")]
    assert [a.name for a in check_attacks("all,quanto-int4", "multimodal")] == available()
    assert [a.name for a in check_attacks("all", "visual")] == ["quanto-int8", "quanto-int4", "relearn-forget"]
    assert [a.name for a in check_attacks("default", "visual")] == ["quanto-int8", "quanto-int4", "relearn-forget"]
