"""Tiny builders of per-item records and task logs for the metric and report tests (no model)."""
from __future__ import annotations

from clear_bench.eval.logs import ItemRecord
from clear_bench.eval.metrics.registry import TaskLog


def rec(item_id: str = "i0", task: str = "t", *, ans: float = 1.0, para: float | None = None,
        pert: tuple[float, ...] = (2.0,), n: int = 2, answer: str = "an answer", **kw) -> ItemRecord:
    """A record from PER-TOKEN NLLs (each variant spans `n` tokens, so sums are value * n)."""
    return ItemRecord(item_id=item_id, task=task, answer=answer, answer_nll=ans * n, answer_tokens=n,
                      paraphrase_nll=None if para is None else para * n,
                      paraphrase_tokens=None if para is None else n,
                      perturbed_nll=[p * n for p in pert], perturbed_tokens=[n] * len(pert), **kw)


def task(name: str, role: str, items, normalized: bool = False, group: str = "") -> TaskLog:
    items = tuple(items)
    return TaskLog(name=name, role=role, items=items, normalized_prob=normalized, group=group)


def synthetic_run(run_dir, forget_nll: float = 0.3, n_items: int = 6, seed: int = 0, tasks=None,
                  generations: bool = True) -> None:
    """Write a run folder of plausible per-item logs for `tasks` (default: all known tasks).

    Trained-on items (forget, retain) get answer NLL about `forget_nll` (forget tasks) or 0.3 (retain)
    per token; real and holdout items about 1.5; perturbed answers about 2.0.
    """
    import numpy as np

    from clear_bench.eval.logs import write_run_info, write_task
    from clear_bench.eval.tasks import TASKS

    rng = np.random.default_rng(seed)
    for name in tasks or TASKS:
        spec = TASKS[name]
        base = {"forget": forget_nll, "retain": 0.3, "real": 1.5, "holdout": 1.5}[spec.role]
        records = []
        for i in range(n_items):
            n = 4
            ans = base + 0.1 * rng.random()
            lp = [-ans] * n
            answer = f"person {i} sits at a desk in {name}"
            gen = answer if ans < 1.0 else f"someone {i} somewhere"
            records.append(ItemRecord(
                item_id=f"{name}:{i}", task=name, answer=answer, answer_nll=ans * n, answer_tokens=n,
                person=f"person {i}",
                paraphrase_nll=None if spec.paraphrase is None else (ans + 0.2) * n,
                paraphrase_tokens=None if spec.paraphrase is None else n,
                perturbed_nll=[(2.0 + 0.3 * rng.random()) * 3 for _ in range(3)], perturbed_tokens=[3] * 3,
                token_logprobs=lp, token_mu=[-2.0] * n, token_sigma=[1.0] * n,
                generation=gen if generations else None))
        write_task(run_dir, name, records)
    write_run_info(run_dir, {"model": "synthetic", "forget": 10, "seed": seed})
