"""Progress for long work: a tqdm bar on a terminal, plain log lines everywhere else.

tqdm's own `disable=None` hides the bar when stderr is not a terminal, so a run under CI, nohup, Slurm or a pipe
printed nothing for minutes (issue 27); a forced bar there writes carriage returns and cursor codes into the log.
`progress(...)` keeps the bar on a terminal and, when the output is not one, logs one line per tenth of the work
(and at least every `LOG_SECONDS`) with the elapsed and the estimated remaining time
(tests/test_progress.py). It accepts the subset of tqdm's interface the code base uses.
"""
from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("clear_bench")

LOG_SECONDS = 60.0  # a non-terminal run says something at least this often while a unit is still running


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


class LogProgress:
    """tqdm's interface (iterate, `update`, `set_postfix`, `set_postfix_str`, `close`, context manager) as log
    lines: "desc: 30/100 (30%) elapsed 0:12, about 0:28 left, loss=0.412"."""

    def __init__(self, iterable=None, total=None, desc: str = "", initial: int = 0, **_ignored):
        self.iterable = iterable
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.total, self.desc, self.n, self.initial = total, desc or "progress", initial, initial
        self.postfix = ""
        self.t0 = self.last_time = time.monotonic()
        self.last_n = initial
        self.step = max(1, (total or 0) // 10)
        self.closed = False

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.update(1)
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __len__(self):
        return self.total or 0

    def set_postfix(self, ordered_dict=None, refresh=True, **kwargs):
        items = {**(ordered_dict or {}), **kwargs}
        self.postfix = ", ".join(f"{k}={v}" for k, v in items.items())

    def set_postfix_str(self, s: str = "", refresh=True):
        self.postfix = s

    def set_description(self, desc=None, refresh=True):
        self.desc = desc or self.desc

    def refresh(self):
        pass

    def write(self, s: str, *args, **kwargs):
        log.info("%s", s)

    def line(self) -> str:
        elapsed = time.monotonic() - self.t0
        parts = [f"{self.desc}: {self.n}"]
        if self.total:
            parts[0] += f"/{self.total} ({100 * self.n / self.total:.0f}%)"
        parts.append(f"elapsed {_clock(elapsed)}")
        done = self.n - self.initial
        if self.total and 0 < done and self.n < self.total:
            parts.append(f"about {_clock(elapsed / done * (self.total - self.n))} left")
        if self.postfix:
            parts.append(self.postfix)
        return ", ".join(parts)

    def update(self, n: int = 1):
        self.n += n
        now = time.monotonic()
        due = self.n - self.last_n >= self.step or now - self.last_time >= LOG_SECONDS
        if due and not (self.total and self.n >= self.total):  # the last line is close()'s
            self.last_n, self.last_time = self.n, now
            log.info("%s", self.line())

    def close(self):
        if not self.closed:
            self.closed = True
            if self.n > self.initial or not self.total:
                log.info("%s", self.line())


def is_terminal(stream=None) -> bool:
    stream = stream or sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


def progress_bar(iterable=None, *, total=None, desc: str = "", disable: bool = False, leave: bool = False,
             initial: int = 0, **kwargs):
    """A tqdm bar on a terminal, log lines otherwise, nothing when `disable` (e.g. not the main process)."""
    if disable:
        from tqdm.auto import tqdm

        return tqdm(iterable, total=total, desc=desc, disable=True, initial=initial)
    if is_terminal():
        from tqdm.auto import tqdm

        return tqdm(iterable, total=total, desc=desc, leave=leave, initial=initial, **kwargs)
    return LogProgress(iterable, total=total, desc=desc, initial=initial)
