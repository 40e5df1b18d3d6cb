"""A grid of clear-eval runs: the cells of a paper table (issue 25), run one after another or on Ray.

A cell is an ordinary `clear-eval` run: its argv (the flags, `--out` included) and its run folder. Nothing about a
cell lives outside its run folder, so a grid is resumable the way a run is: a finished cell is reused (the job says
"already complete" and does no work; its record is unchanged), an interrupted one resumes from its checkpoint, and a
changed setting is another cell (the run folder's marker refuses a different identity in one line).

`run_grid(cells, runner)` runs every cell through `runner(cell, log_path) -> exit status` (the CLI passes one that
calls `clear-eval` with the cell's argv; this module is below the CLI and never imports it, tests/test_layers.py):
  - engine "sequential" (default): in this process, in order;
  - engine "ray": one Ray task per cell with its resources declared (`Cell.resources`: num_cpus, num_gpus, memory),
    on a local instance or the cluster at `address` (`ray.init(address=...)`). The task runs the same `execute`
    as the sequential engine, so a cell's record does not depend on the engine (tests/test_grid_ray.py).
A failed cell (exit status not 0) is reported with its error line and the grid goes on; `retries` reruns it. A
progress bar (log lines off a terminal, `progress.progress_bar`) counts the whole grid.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ClearBenchError

log = logging.getLogger(__name__)

Runner = Callable[["Cell", Path], int]
ENGINES = ("sequential", "ray")
RAY_EXTRA = "pip install -e '.[ray]'"


@dataclass(frozen=True)
class Cell:
    """One clear-eval run of a grid.

    Attributes:
        name: unique in its grid; the last part of its run folder.
        argv: clear-eval's flags, `--out OUT` included.
        out: its run folder.
        track: the track it runs on (for the cost estimate and the table).
        key: where its numbers go in a table, e.g. {"method": "npo", "modality": "both"}.
        resources: what one cell needs, as Ray declares it: num_cpus, num_gpus, memory (bytes).
    """

    name: str
    argv: tuple[str, ...]
    out: str
    track: str = "multimodal"
    key: dict = field(default_factory=dict, hash=False, compare=False)
    resources: dict = field(default_factory=lambda: {"num_cpus": 1, "num_gpus": 0}, hash=False, compare=False)

    def command(self) -> str:
        import shlex

        return "clear-eval " + " ".join(shlex.quote(a) for a in self.argv)


@dataclass
class CellResult:
    """What became of a cell: status "done" (ran), "reused" (its finished run folder was kept as it was) or
    "failed" (`error`: its last error line); `record`: its submission record (None if it failed)."""

    cell: Cell
    status: str
    seconds: float
    error: str | None = None
    record: dict | None = None
    attempts: int = 1

    def as_json(self) -> dict:
        return {"name": self.cell.name, "out": self.cell.out, "argv": list(self.cell.argv), "status": self.status,
                "seconds": round(self.seconds, 2), "error": self.error, "attempts": self.attempts,
                "config_hash": (self.record or {}).get("config_hash")}


def check_cells(cells: Sequence[Cell]) -> None:
    """One line for an empty grid, or two cells with one name or one run folder."""
    if not cells:
        raise ClearBenchError("the grid has no cells")
    for what, values in (("name", [c.name for c in cells]), ("run folder", [str(Path(c.out)) for c in cells])):
        seen = set()
        for v in values:
            if v in seen:
                raise ClearBenchError(f"two cells of the grid have the {what} {v}")
            seen.add(v)


def _record(out: str | Path) -> dict | None:
    from .leaderboard.records import load_record

    path = Path(out) / "submission.json"
    if not path.is_file():
        return None
    try:
        return load_record(path)
    except ClearBenchError:
        return None


def _error_line(log_path: Path, start: int = 0) -> str | None:
    """The cell's last "error:" / "internal error:" line in its log after byte `start` (what clear-eval printed
    this time)."""
    try:
        with log_path.open("rb") as f:
            f.seek(start)
            lines = f.read().decode(errors="replace").splitlines()
    except OSError:
        return None
    found = [line for line in lines if line.startswith(("error:", "internal error:"))]
    return found[-1] if found else None


def execute(cell: Cell, runner: Runner, log_path: str | Path, retries: int = 0) -> CellResult:
    """Run one cell (both engines call this): `runner` up to 1 + `retries` times until it exits 0. "reused" when
    the run folder held a valid record before and the same record after (the job found the run complete)."""
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    before = _record(cell.out)
    t = time.perf_counter()
    code, attempt, start = 1, 0, 0
    for attempt in range(1, retries + 2):
        with log_path.open("a") as f:
            start = f.tell()
            f.write(f"# attempt {attempt}: {cell.command()}\n")
        try:
            code = runner(cell, log_path)
        except Exception as e:  # noqa: BLE001 (a runner's own failure is this cell's, not the grid's)
            with log_path.open("a") as f:
                f.write(f"internal error: the cell runner failed: {type(e).__name__}: {e}\n")
            code = 1
        if code == 130:  # interrupted (Ctrl-C in the cell): the grid stops, finished cells are kept
            raise KeyboardInterrupt
        if code == 0:
            break
    seconds = time.perf_counter() - t
    after = _record(cell.out) if code == 0 else None
    if code != 0 or after is None:
        error = _error_line(log_path, start) or (f"exit status {code}" if code else "no valid submission.json "
                                                                                     "written")
        return CellResult(cell, "failed", seconds, error=f"{error} (log: {log_path})", attempts=attempt)
    reused = before is not None and before["record_hash"] == after["record_hash"]
    return CellResult(cell, "reused" if reused else "done", seconds, record=after, attempts=attempt)


def _bar(total: int, progress: bool):
    from .progress import progress_bar

    return progress_bar(total=total, desc="grid", disable=not progress, leave=True)


def _tally(bar, results: list[CellResult], result: CellResult) -> None:
    results.append(result)
    counts = {s: sum(r.status == s for r in results) for s in ("done", "reused", "failed")}
    bar.set_postfix(counts)
    bar.update(1)
    if result.status == "failed":
        log.warning("cell %s failed: %s", result.cell.name, result.error)


def run_grid(cells: Sequence[Cell], runner: Runner, log_dir: str | Path, engine: str = "sequential",
             address: str | None = None, retries: int = 0, progress: bool = True) -> list[CellResult]:
    """Run every cell (module docstring); returns one result per cell, in the cells' order. Cell logs go to
    `log_dir`/<name>.log."""
    check_cells(cells)
    if engine not in ENGINES:
        raise ClearBenchError(f"--engine must be one of {', '.join(ENGINES)} (got {engine!r})")
    if address is not None and engine != "ray":
        raise ClearBenchError("--address is the Ray cluster's: give it with --engine ray")
    log_dir = Path(log_dir)
    if engine == "ray":
        return _run_ray(cells, runner, log_dir, address, retries, progress)
    results: list[CellResult] = []
    with _bar(len(cells), progress) as bar:
        for cell in cells:
            _tally(bar, results, execute(cell, runner, log_dir / f"{cell.name}.log", retries))
    return results


def require_ray():
    """The `ray` module; without it one line naming the extra."""
    try:
        import ray
    except ImportError:
        raise ClearBenchError(f"--engine ray needs Ray, which is not installed: {RAY_EXTRA} (the ray extra)") from None
    return ray


class Schedule:
    """Which cells may start: the cells of one shared setting (`_setting`: the cached target and gold fine-tunes and
    their evaluations, or a track's split models) train that shared work in whichever runs first, and the cache has
    no lock, so one cell per setting runs first (its "leader") and the others start once a leader has finished
    well; after a failed leader the next cell of the setting leads. Settings run side by side."""

    def __init__(self, cells: Sequence[Cell]):
        self.waiting: dict[tuple, list[Cell]] = {}
        for c in cells:
            self.waiting.setdefault(_setting(c), []).append(c)
        self.ready_settings: set[tuple] = set()

    def start(self) -> list[Cell]:
        """The cells to start now: one leader per setting."""
        return [group.pop(0) for group in self.waiting.values() if group]

    def finished(self, cell: Cell, ok: bool) -> list[Cell]:
        """The cells `cell`'s end lets start: the rest of its setting after a leader that succeeded, the next
        leader after one that failed, none after a follower."""
        key = _setting(cell)
        group = self.waiting.get(key, [])
        if key in self.ready_settings or not group:
            return []
        if ok:
            self.ready_settings.add(key)
            started, group[:] = list(group), []
            return started
        return [group.pop(0)]


def _run_ray(cells, runner, log_dir: Path, address, retries: int, progress: bool) -> list[CellResult]:
    """One task per cell, `Cell.resources` declared, started as `Schedule` allows; results collected as they
    finish. A worker that dies (killed, out of memory) is retried once by Ray; a cell that fails is a result like
    any other. A cluster at `address` gets this process's CLEAR_BENCH_* and HF_* variables (the cache, offline
    mode): the cache and the run folders must be on a filesystem every node sees."""
    import os

    ray = require_ray()
    started = not ray.is_initialized()
    if started:
        env = {k: v for k, v in os.environ.items() if k.startswith(("CLEAR_BENCH_", "HF_"))}
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
                 configure_logging=False, **({"runtime_env": {"env_vars": env}} if address and env else {}))
    try:
        task = ray.remote(max_retries=1)(execute)

        def submit(c: Cell):
            return task.options(**_ray_resources(c.resources), name=f"clear-eval {c.name}").remote(
                c, runner, str(log_dir / f"{c.name}.log"), retries)

        schedule = Schedule(cells)
        pending = {submit(c): c for c in schedule.start()}
        results: list[CellResult] = []
        with _bar(len(cells), progress) as bar:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    cell = pending.pop(ref)
                    try:
                        result = ray.get(ref)
                    except ray.exceptions.RayError as e:  # the worker died (twice): this cell failed, the rest go on
                        result = CellResult(cell, "failed", 0.0, error=f"Ray task failed: {type(e).__name__}: "
                                            f"{str(e).splitlines()[0] if str(e) else ''}")
                    _tally(bar, results, result)
                    pending.update({submit(c): c for c in schedule.finished(cell, result.status != "failed")})
        order = {c.name: i for i, c in enumerate(cells)}
        return sorted(results, key=lambda r: order[r.cell.name])
    finally:
        if started:
            ray.shutdown()


def _ray_resources(resources: dict) -> dict:
    known = {k: v for k, v in resources.items() if k in ("num_cpus", "num_gpus", "memory") and v is not None}
    return {"num_cpus": 1, "num_gpus": 0, **known}


# --------------------------------------------------------------------------- dry run: the plan and its cost


# What `benchmarks/estimate_paper_run.py --json FILE` writes (seconds per unit, measured with clear-bench's own code
# on the given device, and the rows and items of one paper-setting run it multiplies them by).
UNIT_KEYS = ("finetune_s_per_sample", "unlearn_s_per_row", "caption_s_per_item", "short_s_per_item")
WORKLOAD_KEYS = ("target_rows", "gold_rows", "forget_rows", "caption_like", "short")


def shared_units(cells: Sequence[Cell]) -> dict[str, int]:
    """What the grid computes: every cell unlearns once and evaluates its unlearned model once; the target and gold
    fine-tunes and their evaluations are cached, so they are counted once per distinct (track, preset, forget size,
    base model) setting the cells share."""
    settings = {_setting(c) for c in cells}
    return {"cells": len(cells), "unlearning runs": len(cells),
            "shared reference settings (target + gold fine-tunes, or a track's split models)": len(settings),
            "evaluations": len(cells) + 2 * len(settings)}


def _setting(cell: Cell) -> tuple:
    return cell.track, cell.key.get("preset"), cell.key.get("forget"), cell.key.get("model")


def estimate_hours(cells: Sequence[Cell], units: dict) -> dict:
    """GPU-hours of the grid's multimodal cells from measured unit costs (`UNIT_KEYS`, and `workload`: the rows and
    items of one run, `WORKLOAD_KEYS`): per shared setting the two fine-tunes and the two reference evaluations, per
    cell its unlearning and one evaluation. Other tracks' cells are not estimated (the script measures the
    multimodal recipe only)."""
    work = units.get("workload") or {}
    missing = [k for k in UNIT_KEYS if not isinstance(units.get(k), (int, float))] + \
              [f"workload.{k}" for k in WORKLOAD_KEYS if not isinstance(work.get(k), (int, float))]
    if missing:
        raise ClearBenchError(f"the unit costs lack {', '.join(missing)} (benchmarks/estimate_paper_run.py --json "
                              "FILE writes them)")
    mm = [c for c in cells if c.track == "multimodal"]
    one_eval = work["caption_like"] * units["caption_s_per_item"] + work["short"] * units["short_s_per_item"]
    per_setting = ((work["target_rows"] + work["gold_rows"]) * units.get("finetune_epochs", 3)
                   * units["finetune_s_per_sample"] + 2 * one_eval)
    per_cell = work["forget_rows"] * units.get("unlearn_epochs", 5) * units["unlearn_s_per_row"] + one_eval
    seconds = len({_setting(c) for c in mm}) * per_setting + len(mm) * per_cell
    return {"gpu_hours": seconds / 3600, "cells_estimated": len(mm), "cells_not_estimated": len(cells) - len(mm),
            "device": units.get("device", "?")}


def plan(cells: Sequence[Cell], units: dict | None = None) -> str:
    """`--dry-run`: every cell's command, the count, what is shared, and the GPU-hours when unit costs are given."""
    check_cells(cells)
    lines = [f"{c.name}: {'done ' if _record(c.out) else ''}{c.command()}" for c in cells]
    done = sum(_record(c.out) is not None for c in cells)
    counts = shared_units(cells)
    lines += ["", f"{len(cells)} cells ({done} already hold a record)"
              + "; " + ", ".join(f"{v} {k}" for k, v in counts.items() if k != "cells")]
    if units is None:
        lines.append("estimated GPU-hours: not computed: needs unit costs measured on the GPU "
                     "(`PYTHONPATH=. python benchmarks/estimate_paper_run.py --json units.json` on the paper "
                     "model, about 6 min on one H100), then --unit-costs units.json; the paper reports 84 "
                     "A100-hours for all its experiments")
    else:
        est = estimate_hours(cells, units)
        kind = "CPU hours" if str(est["device"]).startswith("CPU") else "GPU-hours"
        lines.append(f"estimated {kind}: {est['gpu_hours']:.1f} for {est['cells_estimated']} multimodal cells "
                     f"(unit costs measured on {est['device']}; overheads add 20-40 %, benchmarks/README.md)"
                     + (f"; {est['cells_not_estimated']} cells of other tracks not estimated"
                        if est["cells_not_estimated"] else ""))
    return "\n".join(lines)


def load_units(path: str | Path) -> dict:
    try:
        units = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise ClearBenchError(f"--unit-costs {path}: cannot read it as JSON ({e})") from None
    if not isinstance(units, dict):
        raise ClearBenchError(f"--unit-costs {path}: expected a JSON object of {', '.join(UNIT_KEYS)}")
    return units
