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
        check_attacks("quanto-int4", "visual")
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
                                                                            "--attacks", "quanto-int4"]))
    from clear_bench import runs  # a visual-track run keeps no LM model: refused by its track, not a missing file

    visual = runs.claim(tmp_path / "visual", runs.CLEAR_EVAL, runs.run_identity("visual", method="scrub_bio")).start()
    runs.release(visual.folder)
    assert "does not apply to the visual track" in _one_error(capsys, main(["attack", str(visual.folder),
                                                                            "--attacks", "relearn-retain"]))
    err = _one_error(capsys, clear_eval_main(["--preset", "demo", "--attacks", "quanto-int3",
                                              "--out", str(tmp_path / "x")]))
    assert "unknown attack 'quanto-int3'" in err and not (tmp_path / "x").exists()


def test_relearning_budget_is_a_tenth_of_the_unlearning_and_needs_persons():
    from clear_bench.attacks.relearn import MIN_STEPS, budget

    assert budget(30) == MIN_STEPS == 4 and budget(100) == 10 and budget(101) == 11 and budget(0) == 4
    assert [a.name for a in check_attacks("relearn-retain", "text")] == ["relearn-retain"]
    with pytest.raises(ClearBenchError, match="relearn-forget' does not apply to the text track"):
        check_attacks("relearn-forget", "text")  # TOFU QA names no person to split the forget set by


def test_default_and_all_name_the_sets_that_apply_to_the_track():
    from clear_bench.attacks.base import DEFAULT_ATTACKS

    assert [a.name for a in check_attacks("default", "multimodal")] == list(DEFAULT_ATTACKS)
    assert [a.name for a in check_attacks("default", "text")] == ["quanto-int8", "quanto-int4", "relearn-retain"]
    assert [a.name for a in check_attacks("all,quanto-int4", "multimodal")] == available()
    with pytest.raises(ClearBenchError, match="no attack applies to the visual track"):
        check_attacks("default", "visual")
