"""`clear-eval --sequence 1,5,10`: deletion requests that arrive one after another (issue 24.4).

CLEAR's forget sets are nested (forget01 ⊂ forget05 ⊂ forget10): request k asks to forget the k-th set, and is
unlearned from the model request k-1 left, not from the target (PULSE and MLUBench report that methods collapse
as requests accumulate). The sequence is a loop over the job's own steps (`job.STEPS`, by name) with the forget
size changed; nothing of the job is copied. After every request the unlearned model is scored on every task of
the current forget size (its forget set, retain, real) and on the forget tasks of every earlier request's set.

The run folder holds one `request-<k>-forget<NN>/` per request (unlearn.json, eval/, eval-forget<MM>/ for each
earlier set, results.md / results.png against that size's target and gold evaluations), and at the top:
  sequence.md / sequence.png   the headline metrics over the requests
  submission.json              the record of the last request, with the whole sequence in `sequence`
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from .data.schema import check_sequence, forget_configs
from .errors import ClearBenchError
from .utils import atomic_write_text, hardware

log = logging.getLogger(__name__)

PREPARE = ("finetune target", "finetune gold", "evaluate gold", "evaluate target", "check memorisation", "pair")
REQUEST = ("unlearn", "evaluate unlearned", "compare")
COMPLETE = ("submission.json", "sequence.md", "sequence.png")  # what a finished sequence's folder holds


def parse_sequence(text: str) -> tuple[int, ...]:
    """'1,5,10' -> (1, 5, 10); a one-line error unless it is two or more increasing forget sizes."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ClearBenchError(f"--sequence must be forget sizes separated by commas, e.g. 1,5,10 (got '{text}')") \
            from None
    return check_sequence(sizes)


def _forget_tasks(job) -> list[str]:
    from .eval.tasks import get_task

    return [t for t in job.track.tasks if get_task(t).role == "forget"]


def _at_size(job, base: Path, k: int, forget: int) -> None:
    """Point the job's settings at request `k` (1-based), which forgets the `forget` % set."""
    job.cfg = dataclasses.replace(job.cfg)  # a copy (the caller's config stays as it was); its __post_init__
    job.cfg.forget = forget  # sets `forget` to the sequence's last size, hence the assignment after it
    job.names = forget_configs(forget)
    job.eval = dataclasses.replace(job.eval, forget=forget)
    job.out = base / f"request-{k}-forget{forget:02d}"
    job.request = f"request-{k}"


def _values(summary: dict) -> dict[str, Any]:
    return {k: e.get("value") for k, e in summary["metrics"].items()}


def run_sequence(cfg) -> Path:
    """Run the requests of `cfg.sequence` (a `job.JobConfig`) one after another (module docstring); returns the run
    folder."""
    from .eval.run import evaluate
    from .job import STEPS, is_complete, resolve, run_steps, write_records

    job = resolve(cfg)
    if is_complete(job, COMPLETE):  # as `job.run_job`: a finished sequence is not run again
        job.run.finish()
        log.warning("already complete: %s holds this sequence's record (submission.json); nothing was redone", job.out)
        return job.out
    steps = {s.name: s for s in STEPS}
    sizes, base, golds, requests = job.cfg.sequence, job.out, {}, []
    for k, forget in enumerate(sizes, 1):
        _at_size(job, base, k, forget)
        log.info("request %d of %d: forget %d%%", k, len(sizes), forget)
        run_steps(job, tuple(steps[n] for n in PREPARE))  # cached: the target once, one gold model per size
        golds[forget] = job.gold_eval
        run_steps(job, tuple(steps[n] for n in REQUEST))  # `unlearn` goes on from the previous request's model
        earlier = {}
        for size in sizes[:k - 1]:  # the sets forgotten before: still forgotten?
            summary = evaluate(job.model, job.processor, job.source, job.out / f"eval-forget{size:02d}",
                               dataclasses.replace(job.eval, forget=size),
                               gold_dir=golds[size], tasks=_forget_tasks(job), progress=False,
                               run_info={"track": job.track.name, "request": k, "hardware": hardware(),
                                         **job.run_config()})
            earlier[str(size)] = _values(summary)
        requests.append({"request": k, "forget": forget, "folder": job.out.name, "metrics": _values(job.summary),
                         "earlier": earlier, "target": _values(job.target_summary),
                         "gold": _values(job.gold_summary), "unlearn_s": job.timings.get("unlearn_s")})
    job.out, job.sequence = base, requests
    write_sequence(job)
    write_records(job)
    return base


def _series(job) -> dict[str, list]:
    """Lines of the plot and columns of the table: label -> one value (or None) for the target (before any
    request), then one per request."""
    board, requests = job.track.board, job.sequence
    first = requests[0]["target"]

    def line(key: str) -> list:
        return [first.get(key)] + [r["metrics"].get(key) for r in requests]

    lines = {f"Forget, current set ({board.forget}) ↓": line(board.forget)}
    for k, size in enumerate(job.cfg.sequence[:-1]):
        lines[f"Forget, the {size}% set ↓"] = [requests[k]["target"].get(board.forget)] + [
            r["metrics"].get(board.forget) if r["forget"] == size else r["earlier"].get(str(size), {}).get(board.forget)
            for r in requests]
    lines[f"Retain ({board.retain}) ↑"] = line(board.retain)
    if board.keep not in (board.forget, board.retain):
        lines[f"Utility ({board.keep}) ↑"] = line(board.keep)
    return lines


def write_sequence(job) -> None:
    """sequence.md (the target, then a row per request) and sequence.png (the metrics over the requests) in the run
    folder."""
    from .eval.plots import sequence_lines

    lines, sizes = _series(job), job.cfg.sequence
    title = f"{job.method_name} · {job.track.name} · requests forget {', '.join(f'{s}%' for s in sizes)}"
    head = ["request", "forget %"] + list(lines)
    labels = [("target (before)", "–")] + [(str(k), str(s)) for k, s in enumerate(sizes, 1)]
    rows = [list(label) + ["–" if v[i] is None else f"{v[i]:.3f}" for v in lines.values()]
            for i, label in enumerate(labels)]
    table = "\n".join("| " + " | ".join(r) + " |" for r in [head, ["---"] * len(head)] + rows)
    atomic_write_text(job.out / "sequence.md", f"# {title}\n\nEach request unlearns its forget set from the model "
                      f"the previous one left (`clear_bench/sequence.py`); the earlier sets are scored again after "
                      f"every request. The target row: each set's score before any request.\n\n{table}\n")
    sequence_lines(lines, ["target"] + [f"forget {s}%" for s in sizes], job.out / "sequence.png", title)
