"""The thread count a run uses: `--threads` wins, then OMP_NUM_THREADS, then 1 for a tiny model, else the idle
cores (clear_bench/threads.py); the choice is logged first."""
import logging

import pytest
import torch

from clear_bench import threads
from clear_bench.cli import clear_eval_main, main
from clear_bench.threads import apply_threads, choose_threads, is_tiny


def test_flag_beats_environment_beats_model_size(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert choose_threads(2, tiny=True)[0] == 2
    assert choose_threads(None, tiny=True)[0] == 3
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert choose_threads(None, tiny=True) == (1, "tiny model: one thread is fastest; --threads N to change")
    monkeypatch.setattr(threads, "usable_cores", lambda: 8)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (5.2, 0, 0))
    assert choose_threads(None, tiny=False)[0] == 3  # 8 cores, 5 busy


def test_tiny_is_the_demo_preset_or_a_tiny_model_name():
    assert is_tiny(None, "demo") and is_tiny("tiny-qwen2vl", "paper")
    assert not is_tiny(None, "paper") and not is_tiny("Qwen/Qwen2-VL-2B-Instruct", "demo")


def test_apply_sets_torch_and_says_so_first(caplog, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    caplog.set_level(logging.INFO, logger="clear_bench")
    try:
        assert apply_threads(None, tiny=True) == 1 and torch.get_num_threads() == 1
        assert caplog.records[0].getMessage().startswith("threads: 1 (tiny model")
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("run", [lambda: clear_eval_main(["--preset", "demo", "--threads", "0"]),
                                 lambda: main(["--threads", "-1", "finetune", "--preset", "demo", "--out", "x"])])
def test_a_bad_thread_count_is_one_line_before_any_work(run, capsys):
    assert run() == 2
    assert "--threads must be >= 1" in capsys.readouterr().err
