"""Progress off a terminal is log lines (one per tenth of the work, elapsed and remaining), never cursor codes;
on a terminal it is tqdm's bar (issue 27: eight silent minutes under CI / nohup / a pipe)."""
import logging
import subprocess
import sys

import torch

from clear_bench import progress
from clear_bench.progress import LogProgress, progress_bar
from clear_bench.training.loop import TrainConfig, train


def test_log_progress_writes_a_line_per_tenth_with_remaining_time(caplog):
    caplog.set_level(logging.INFO, logger="clear_bench")
    for _ in LogProgress(range(100), desc="epochs"):
        pass
    lines = [r.getMessage() for r in caplog.records]
    assert 9 <= len(lines) <= 11, lines
    assert lines[0].startswith("epochs: 10/100 (10%), elapsed 0:00, about ") and "left" in lines[0]
    assert lines[-1].startswith("epochs: 100/100 (100%)") and "left" not in lines[-1]


def test_off_a_terminal_the_bar_is_log_lines_and_on_one_it_is_tqdm(monkeypatch):
    monkeypatch.setattr(progress, "is_terminal", lambda stream=None: False)
    assert isinstance(progress_bar(range(3)), LogProgress)
    monkeypatch.setattr(progress, "is_terminal", lambda stream=None: True)
    from tqdm.auto import tqdm

    assert isinstance(progress_bar(range(3)), tqdm)
    assert not isinstance(progress_bar(range(3), disable=True), LogProgress)


def test_training_off_a_terminal_logs_progress_lines_and_no_cursor_codes(caplog):
    caplog.set_level(logging.INFO, logger="clear_bench")
    torch.manual_seed(0)
    model = torch.nn.Linear(2, 1)
    data = [torch.randn(2) for _ in range(40)]
    loss = lambda m, batch, step: m(batch).pow(2).mean()  # noqa: E731
    train(model, data, torch.stack, TrainConfig(epochs=2, lr=1e-2, batch_size=4, warmup_epochs=0), loss_fn=loss,
          desc="fine-tune target")
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("fine-tune target")]
    assert len(lines) >= 5 and lines[-1].startswith("fine-tune target: 20/20 (100%)")
    assert any("loss=" in line for line in lines)
    assert not any("\r" in line or "\x1b" in line for line in lines)


def test_a_piped_process_gets_progress_lines_without_cursor_codes():
    code = ("import logging, sys; logging.basicConfig(level=logging.INFO, format='%(message)s');"
            "from clear_bench.progress import progress_bar\n"
            "for _ in progress_bar(range(50), desc='split models'): pass")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stderr
    assert "split models: 50/50 (100%)" in out
    assert "\r" not in out and "\x1b" not in out
