"""Resources bounded before any work (issue 28.3): counts and sizes past their documented hard limit are refused
in one line by the CLI, and LoRA adapters whose training state cannot fit the machine are refused before they are
allocated, with the figure."""
import pytest

from clear_bench.cli import clear_eval_main, clear_generate_main, main


@pytest.mark.parametrize("entry, argv, pattern", [
    (clear_eval_main, ["--method", "npo", "--lora-r", "100000000"], r"--lora-r must be <= 4096, clear-bench's hard limit"),
    (clear_eval_main, ["--method", "npo", "--epochs", "1e300"], r"--epochs must be <= 1000"),
    (clear_eval_main, ["--method", "npo", "--batch-size", "100000000"], r"--batch-size must be <= 65536"),
    (clear_eval_main, ["--track", "visual", "--method", "ga", "--splits", "100000000"], r"--splits must be <= 4096"),
    (clear_eval_main, ["--method", "npo", "--seeds", "100000"], r"--seeds must be <= 1000"),
    (clear_generate_main, ["--authors", "1000000000"], r"--authors must be <= 100000"),
    (clear_generate_main, ["--image-size", "100000"], r"--image-size must be <= 4096"),
    (main, ["finetune", "--lora-r", "100000000", "--split", "full"], r"--lora-r must be <= 4096"),
])
def test_past_a_hard_limit_is_one_line_before_any_work(entry, argv, pattern, tmp_path, capsys):
    import re

    out = tmp_path / "out"
    code = entry(argv + ["--preset", "demo", "--out", str(out)])
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and re.search(pattern, errors[0]), errors
    assert not out.exists()


def test_lora_that_cannot_fit_is_refused_with_the_figure():
    """Four 100k x 100k layers (on the meta device: nothing is allocated) with r 4096 need ~49 GiB of adapter
    state, more than this 24 GiB machine has; r 8 needs 0.1 GiB and is accepted."""
    import torch

    from clear_bench.errors import ClearBenchError
    from clear_bench.models.lora import check_lora_fits, free_memory_bytes

    with torch.device("meta"):
        model = torch.nn.Sequential(*[torch.nn.Linear(100_000, 100_000, bias=False) for _ in range(4)])
    assert free_memory_bytes(torch.device("cpu")) < 4 * 4096 * 200_000 * 16
    with pytest.raises(ClearBenchError, match=r"LoRA r 4096 needs ~48\.8 GiB .* GiB are free on .*smaller --lora-r"):
        check_lora_fits(model, r"^\d+$", 4096)
    check_lora_fits(model, r"^\d+$", 8)
