"""`evaluate`: score a model on every evaluation task, write one per-item log per task, summarise.

A run folder holds ``<task>.jsonl`` per task (see `logs`), ``run.json`` (how the run was made) and
``summary.json`` / ``summary.md`` (every metric, recomputable from the logs with `clear-bench report`).
Task logs are renamed into place whole, so an interrupted run is resumed by running the same command
again: finished tasks are skipped. Resuming into a folder made with another model, data source,
forget size, cap or generation length is refused (the logs would mix two runs).

`clear-bench evaluate` is `evaluate_main`; `add_evaluate_parser` / `add_report_parser` register
`evaluate` and `report` as sub-commands of the `clear-bench` parser.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from tqdm.auto import tqdm

from ..data.sample import Sample
from ..data.schema import OPTIONAL_CONFIGS
from ..errors import ClearBenchError
from .. import runs
from ..utils import check_writable, hardware, library_versions, looks_like_path
from . import logs
from .logs import ItemRecord
from .tasks import DEFAULT_CAP, TASKS, TaskSpec, get_task, samples_for_task

if TYPE_CHECKING:  # scoring imports torch: `clear-bench --help` should not wait for it
    from .scoring import ItemScore

log = logging.getLogger(__name__)

# run.json keys that must agree for a run folder to be resumed: anything else would mix two runs' logs.
RESUME_KEYS = ("model", "data", "forget", "cap", "max_new_tokens")


# --------------------------------------------------------------------------------------- tasks


def has_config(source, dataset: str, config: str) -> bool:
    """Whether `source` holds `config` of `dataset` ("clear" or "tofu"), without downloading anything.

    A local folder holds the configs it has a sub-folder for; a Hub source is assumed to hold every
    published config, i.e. all but the optional ones (holdout persons are not on therem/CLEAR).
    """
    from ..data.sources import _local_config_dir

    if source.is_local(dataset):
        return _local_config_dir(Path(source.name(dataset)), config) is not None
    return config not in OPTIONAL_CONFIGS


def available_tasks(source, forget: int = 10) -> list[str]:
    """Every task (in `TASKS` order) whose config exists in `source`: the six CLEAR tasks, TOFU text QA,
    and the holdout tasks when the source has holdout persons."""
    return [name for name, t in TASKS.items() if has_config(source, t.dataset, t.config_for(forget))]


def resolve_tasks(source, tasks: Sequence[str] | None, forget: int = 10) -> list[TaskSpec]:
    """The tasks to run: `tasks` (validated, duplicates dropped, in the given order) or all available."""
    if tasks is None:
        names = available_tasks(source, forget)
        if not names:
            raise ClearBenchError(f"no evaluation task has its config in {source.clear} / {source.tofu}")
    else:
        names = list(dict.fromkeys(tasks))
        if not names:
            raise ClearBenchError("the task list is empty; valid tasks: " + ", ".join(TASKS))
    return [get_task(n) for n in names]


# ------------------------------------------------------------------------------------- records


def to_record(task: TaskSpec, sample: Sample, score: ItemScore) -> ItemRecord:
    """One scored item as a per-item record.

    Variant kinds map to record fields: "answer" -> answer_* and the per-token statistics;
    "paraphrase" -> paraphrase_* (None when the task has no paraphrase column, whatever was scored);
    "perturbed" and "option" -> perturbed_*, in scoring order. ROUGE-L recall is computed here.
    """
    from .metrics.rouge import rouge_l_recall

    if score.item_id != sample.item_id:
        raise ClearBenchError(f"task '{task.name}': score of item {score.item_id!r} paired with "
                              f"sample {sample.item_id!r} (scorer returned items out of order)")
    by_kind: dict[str, list] = {}
    for v in score.variants:
        by_kind.setdefault(v.kind, []).append(v)
    unknown = set(by_kind) - {"answer", "paraphrase", "perturbed", "option"}
    if unknown or len(by_kind.get("answer", [])) != 1:
        raise ClearBenchError(f"task '{task.name}', item {sample.item_id!r}: expected one 'answer' variant and "
                              f"paraphrase/perturbed/option ones, got {sorted(by_kind)}")
    answer = by_kind["answer"][0]
    para = by_kind.get("paraphrase", []) if task.paraphrase is not None else []
    wrong = by_kind.get("perturbed", []) + by_kind.get("option", [])
    generation = score.generation
    return ItemRecord(
        item_id=sample.item_id, task=task.name, answer=sample.answer, person=sample.person,
        answer_nll=answer.nll, answer_tokens=answer.tokens,
        paraphrase_nll=para[0].nll if para else None, paraphrase_tokens=para[0].tokens if para else None,
        perturbed_nll=[v.nll for v in wrong], perturbed_tokens=[v.tokens for v in wrong],
        token_logprobs=list(score.token_logprobs) or None, token_mu=list(score.token_mu) or None,
        token_sigma=list(score.token_sigma) or None,
        generation=generation, rouge_l=None if generation is None else rouge_l_recall(sample.answer, generation),
        extra={"question": sample.question, "row": sample.extra.get("row")})


def task_samples(task: TaskSpec, dataset, forget: int = 10, cap: int | None = DEFAULT_CAP) -> list[Sample]:
    """The first `cap` rows of a loaded config (a `datasets.Dataset` or a list of dicts) as samples."""
    n = len(dataset) if cap is None else min(cap, len(dataset))
    rows = dataset.select(range(n)) if hasattr(dataset, "select") else dataset[:n]
    return samples_for_task(task, list(rows), forget=forget, cap=cap)


def evaluate_task(model, processor, task: TaskSpec, samples: Sequence[Sample], batch_size: int = 8,
                  max_new_tokens: int = 300, shared_prefix: bool = True) -> list[ItemRecord]:
    """Score (and, unless `max_new_tokens` is 0, generate for) one task's samples; records in input order."""
    from .scoring import score_items

    scores = score_items(model, processor, samples, generate=max_new_tokens > 0, shared_prefix=shared_prefix,
                         batch_size=batch_size, max_new_tokens=max(max_new_tokens, 1))
    if len(scores) != len(samples):
        raise ClearBenchError(f"task '{task.name}': {len(scores)} scores for {len(samples)} items")
    return [to_record(task, s, sc) for s, sc in zip(samples, scores)]


# ------------------------------------------------------------------------------------- the run


def _model_name(model) -> str:
    return str(getattr(getattr(model, "config", None), "_name_or_path", "") or type(model).__name__)


def _check_resumable(out: Path, info: Mapping[str, Any]) -> None:
    old = logs.read_run_info(out)
    if not old or not logs.list_tasks(out):
        return
    diff = [k for k in RESUME_KEYS if k in old and old[k] != info.get(k)]
    if diff:
        k = diff[0]
        raise ClearBenchError(f"{out} holds a run with {k}={json.dumps(old[k])}, this run has {k}="
                              f"{json.dumps(info.get(k))}; write to a new --out folder (or delete {out} to start over)")


def _check_gold(gold_dir, forget: int) -> None:
    if not logs.list_tasks(gold_dir):  # raises if the folder does not exist
        raise ClearBenchError(f"gold run folder {gold_dir} holds no per-item logs (*{logs.SUFFIX}); "
                              "evaluate the gold model into it first")
    gold_forget = logs.read_run_info(gold_dir).get("forget")
    if gold_forget is not None and gold_forget != forget:
        raise ClearBenchError(f"gold run {gold_dir} was evaluated with forget={gold_forget}, this run uses "
                              f"forget={forget}; forget quality compares the same forget set")


def evaluate(model, processor, source, out_dir: str | os.PathLike, forget: int = 10,
             tasks: Sequence[str] | None = None, cap: int | None = DEFAULT_CAP, batch_size: int = 8,
             max_new_tokens: int = 300, shared_prefix: bool = True, gold_dir: str | os.PathLike | None = None,
             run_info: dict | None = None, progress: bool = True) -> dict:
    """Evaluate `model` on `tasks` of `source` into `out_dir` and return the summary dict.

    model, processor: a loaded VLM and its processor (`models.loading.load_model`), already on device.
    source: a `data.sources.DataSource`. forget: forget-set size in percent (1, 5 or 10).
    tasks: task names (see `tasks.TASKS`); None = every task whose config the source holds.
    cap: score the first `cap` items of each task (SPEC §5: 300); None = all.
    batch_size: items per scoring forward (generation batches 2x as many on CPU, 8x on CUDA).
    max_new_tokens: greedy generation length for ROUGE-L; 0 skips generation (no ROUGE).
    shared_prefix: encode image + prompt once per item (same numbers as the naive path, faster).
    gold_dir: the gold model's run folder: enables forget quality and PrivLeak in the summary.
    run_info: extra facts for run.json (e.g. {"model": path, "seed": 42}); its keys win.

    Tasks already logged in `out_dir` are skipped (resume). Every pending task's config is loaded and
    checked before any scoring, so a bad input fails in seconds, not after hours of GPU time.
    """
    from .summary import summarize

    if cap is not None and cap <= 0:
        raise ClearBenchError(f"cap must be a positive number of items per task or None (got {cap})")
    if batch_size <= 0:
        raise ClearBenchError(f"batch size must be positive (got {batch_size})")
    if max_new_tokens < 0:
        raise ClearBenchError(f"max_new_tokens must be >= 0 (got {max_new_tokens})")
    specs = resolve_tasks(source, tasks, forget)
    out = check_writable(out_dir)
    if out.exists() and not out.is_dir():
        raise ClearBenchError(f"output {out} is a file, not a run folder")
    param = next(iter(model.parameters()), None)
    info: dict[str, Any] = {
        "model": _model_name(model), "data": {"clear": source.name("clear"), "tofu": source.name("tofu")},
        "forget": forget, "cap": cap, "seed": None, "tasks": [t.name for t in specs],
        "batch_size": batch_size, "max_new_tokens": max_new_tokens,
        "scoring": "shared_prefix" if shared_prefix else "naive",
        "device": str(param.device) if param is not None else None,
        "dtype": str(param.dtype).replace("torch.", "") if param is not None else None,
        "library_versions": library_versions(),
    }
    info.update(run_info or {})
    if out.is_dir():
        _check_resumable(out, info)
        old = logs.read_run_info(out)
        info["tasks"] = list(dict.fromkeys(old.get("tasks", []) + info["tasks"]))
        info["task_seconds"] = dict(old.get("task_seconds", {}))  # of the tasks finished before
    if gold_dir is not None:
        _check_gold(gold_dir, forget)

    pending = [t for t in specs if not (out.is_dir() and logs.task_done(out, t.name))]
    for t in specs:
        if t not in pending:
            log.info("%s: already in %s, skipped", t.name, out)
    configs = {t.name: source.load(t.dataset, t.config_for(forget)) for t in pending}

    out.mkdir(parents=True, exist_ok=True)
    info.setdefault("task_seconds", {})
    logs.write_run_info(out, info)  # before scoring, so that a resumed run can be checked against it
    for t in tqdm(pending, desc="evaluate", unit="task", disable=None if progress and pending else True):
        start = time.perf_counter()
        samples = task_samples(t, configs[t.name], forget=forget, cap=cap)
        records = evaluate_task(model, processor, t, samples, batch_size, max_new_tokens, shared_prefix)
        logs.write_task(out, t.name, records)
        info["task_seconds"][t.name] = round(time.perf_counter() - start, 2)
        logs.write_run_info(out, info)
        log.info("%s: %d items in %.1fs", t.name, len(records), info["task_seconds"][t.name])
    return summarize(out, gold_dir)


# ----------------------------------------------------------------------------------------- CLI


def _add_evaluate_args(p: argparse.ArgumentParser) -> None:
    from ..cli import TOFU_HELP

    p.add_argument("--model", required=True, help="model folder (or Hub id) to evaluate; safetensors only")
    p.add_argument("--out", required=True, help="run folder: <task>.jsonl per task, run.json, summary.json/.md; "
                   "an interrupted run resumes where it stopped")
    p.add_argument("--data", default=None, help="Hub id of CLEAR, a local folder with clear/ and tofu/, or 'demo' "
                   "(default: the preset's)")
    p.add_argument("--tofu", default=None, help=TOFU_HELP)
    p.add_argument("--preset", default="paper", help="paper (Hub data) or demo (offline demo data)")
    p.add_argument("--forget", type=int, default=10, help="forget-set size in percent: 1, 5 or 10 (default: 10)")
    p.add_argument("--gold", metavar="GOLD_RUN_DIR", default=None,
                   help="run folder of the gold model (fine-tuned on the retain set only): forget quality, PrivLeak")
    p.add_argument("--tasks", default=None, help="comma-separated task names (default: every task the data has; "
                   f"valid: {', '.join(TASKS)})")
    p.add_argument("--cap", type=int, default=DEFAULT_CAP,
                   help=f"items per task, first in dataset order; 0 = all (default: {DEFAULT_CAP})")
    p.add_argument("--batch-size", type=int, default=8, help="items per scoring forward (default: 8)")
    p.add_argument("--max-new-tokens", type=int, default=300,
                   help="greedy generation length; 0 = no generation (default: 300)")
    p.add_argument("--naive-scoring", action="store_true",
                   help="re-encode image and prompt for every answer variant (slower; same numbers)")
    p.add_argument("--device", default=None, help="cuda, cuda:1, cpu (default: cuda if available)")
    p.add_argument("--trust-remote-code", action="store_true", help="allow code shipped with the model to run")


def _model_manifest(path: Path) -> dict:
    from ..training.finetune import MANIFEST

    try:
        return json.loads((path / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def _earlier_run(folder: Path) -> bool:
    """An evaluation folder written before run markers: its run.json records our library versions."""
    info = logs.read_run_info(folder)
    return isinstance(info, dict) and "clear_bench" in (info.get("library_versions") or {})


def cmd_evaluate(args) -> int:
    """Run `clear-bench evaluate` from parsed arguments; user errors raise `ClearBenchError`."""
    from ..cli import resolve_source
    from ..models.loading import load_model
    from ..presets import get_preset

    # Everything that can be checked without the model (names, data, gold run) is checked first, and
    # nothing is written before the model has loaded.
    tasks = [n.strip() for n in args.tasks.split(",") if n.strip()] if args.tasks else None
    for name in tasks or ():
        get_task(name)
    get_task("forget_captions").config_for(args.forget)  # validates the forget size
    model_path = Path(args.model).expanduser()
    if not model_path.exists() and looks_like_path(args.model):
        raise ClearBenchError(f"model folder {args.model} does not exist")
    preset = get_preset(args.preset)
    source = resolve_source(args, preset)
    model_id = os.path.abspath(model_path) if model_path.exists() else args.model
    run = runs.claim(args.out, runs.EVALUATION, {  # a folder of another run, or of the user's files, is refused
        "model": model_id, "data": {"clear": source.name("clear"), "tofu": source.name("tofu")},
        "forget": args.forget, "cap": None if args.cap == 0 else args.cap, "max_new_tokens": args.max_new_tokens,
        "scoring": "naive" if args.naive_scoring else "shared_prefix"},
        adopt=_earlier_run)
    out = run.folder
    if args.gold is not None:
        _check_gold(args.gold, args.forget)
    for t in resolve_tasks(source, tasks, args.forget):  # data errors before the (slow) model load; cached
        source.load(t.dataset, t.config_for(args.forget))
    model, processor = load_model(str(model_path) if model_path.exists() else args.model, device=args.device,
                                  trust_remote_code=args.trust_remote_code)
    manifest = _model_manifest(model_path) if model_path.is_dir() else {}
    # an absolute folder path, so that resuming from another working directory is recognised
    run_info = {"model": model_id, "preset": preset.name, "hardware": hardware(),
                "seed": manifest.get("config", {}).get("train", {}).get("seed")}
    if manifest:
        run_info["model_manifest"] = {k: manifest[k] for k in ("fingerprint", "base_model", "data_config")
                                      if k in manifest}
    run.start()
    summary = evaluate(model, processor, source, out, forget=args.forget, tasks=tasks,
                       cap=None if args.cap == 0 else args.cap, batch_size=args.batch_size,
                       max_new_tokens=args.max_new_tokens, shared_prefix=not args.naive_scoring,
                       gold_dir=args.gold, run_info=run_info)
    run.finish()
    from .summary import summary_markdown

    sys.stdout.write(summary_markdown(summary))
    log.info("per-item logs and summary in %s", out)
    return 0


def build_evaluate_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="clear-bench evaluate", description=EVALUATE_DESCRIPTION)
    _add_evaluate_args(p)
    return p


EVALUATE_DESCRIPTION = ("Score a model on the CLEAR evaluation tasks (and TOFU text QA, holdout when the data "
                        "has them): per-item logs, then every metric in summary.json and summary.md.")


def evaluate_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `clear-bench evaluate`; returns the exit status (user errors: one line, status 2)."""
    from ..cli import _setup_logging, run_safely

    args = build_evaluate_parser().parse_args(argv)
    _setup_logging()
    return run_safely(lambda: cmd_evaluate(args))


def add_evaluate_parser(subparsers) -> argparse.ArgumentParser:
    """Register `evaluate` on a `clear-bench` sub-command parser (sets `func`)."""
    p = subparsers.add_parser("evaluate", help="score a model on every task; per-item logs and summary",
                              description=EVALUATE_DESCRIPTION)
    _add_evaluate_args(p)
    p.set_defaults(func=cmd_evaluate)
    return p


def add_report_parser(subparsers) -> argparse.ArgumentParser:
    """Register `report` (summaries from per-item logs, no model) on a `clear-bench` sub-command parser."""
    from .report import DESCRIPTION, add_report_args, cmd_report

    p = subparsers.add_parser("report", help="recompute every metric from run folders' per-item logs",
                              description=DESCRIPTION)
    add_report_args(p)
    p.set_defaults(func=cmd_report)
    return p
