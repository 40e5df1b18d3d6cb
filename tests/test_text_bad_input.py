"""Text track: what only the multimodal track has, or a bad model, ends in one line on stderr before any
training (no model is fine-tuned here)."""
import pytest

from clear_bench.cli import clear_eval_main


def _errors(capsys):
    return [line for line in capsys.readouterr().err.strip().splitlines() if line.startswith("error:")]


@pytest.mark.parametrize("argv, pattern", [
    (["--modality", "image"], r"--modality image is not a forget stream of the text track \(it unlearns: text\)"),
    (["--method", "sisa"], r"method 'sisa' does not run on the text track: it retrains shard adapters"),
    (["--model", "tiny-qwen2vl"], r"--model tiny-qwen2vl is a vision-language model; the text track takes a causal"),
    (["--preset", "fast"], r"unknown text-track preset 'fast'; valid: demo, paper"),
    (["--method", "npoo"], r"unknown method 'npoo'.*Did you mean 'npo'"),
    (["--forget", "20"], r"forget size 20 is not one of 1, 5, 10"),
    (["--cap", "-1"], r"--cap must be >= 0"),
])
def test_multimodal_only_or_bad_names_fail_in_one_line(argv, pattern, capsys, tmp_path):
    import re

    base = ["--track", "text", "--preset", "demo", "--out", str(tmp_path / "run")]
    code = clear_eval_main(base + argv)
    errors = _errors(capsys)
    assert code == 2 and len(errors) == 1, errors
    assert re.search(pattern, errors[0]), errors[0]
    assert not (tmp_path / "run").exists()


def test_a_vision_language_model_folder_is_refused(tmp_path, capsys):
    from clear_bench.models.tiny import build_tiny_vlm, save_tiny_vlm

    vlm = save_tiny_vlm(*build_tiny_vlm(["Anna Stone was born in Lyon."] * 20, vocab_size=300, hidden=32, layers=1),
                        tmp_path / "vlm")
    code = clear_eval_main(["--track", "text", "--preset", "demo", "--model", str(vlm), "--out", str(tmp_path / "r")])
    errors = _errors(capsys)
    assert code == 2 and len(errors) == 1, errors
    assert "is not a causal language model (AutoModelForCausalLM)" in errors[0]


def test_a_missing_model_folder_is_refused(tmp_path, capsys):
    code = clear_eval_main(["--track", "text", "--preset", "demo", "--model", str(tmp_path / "nothing"),
                            "--out", str(tmp_path / "r")])
    errors = _errors(capsys)
    assert code == 2 and len(errors) == 1 and "does not exist" in errors[0], errors
