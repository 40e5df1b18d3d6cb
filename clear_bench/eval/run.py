"""`evaluate`: score a model on every evaluation task, write one per-item log per task, summarise.

A run folder holds ``<task>.jsonl`` per task (see `logs`), ``run.json`` (how the run was made) and
``summary.json`` / ``summary.md`` (every metric, recomputable from the logs with `clear-bench report`).
Task logs are renamed into place whole, so an interrupted run is resumed by running the same command
again: finished tasks are skipped. Resuming into a folder made with another model, data source,
forget size, cap or generation length is refused (the logs would mix two runs).

The `clear-bench evaluate` command is in `clear_bench/commands/evaluate.py`.
"""
from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..data.sample import Sample
from ..data.schema import DEFAULT_FORGET
from ..errors import ClearBenchError
from ..progress import progress_bar
from ..utils import check_writable, library_versions
from . import logs
from .config import DEFAULT_MAX_NEW_TOKENS, EvalConfig
from .logs import ItemRecord
from .tasks import DEFAULT_CAP, TASKS, TaskSpec, get_task, samples_for_task

if TYPE_CHECKING:  # scoring imports torch: `clear-bench --help` should not wait for it
    from .scoring import ItemScore

log = logging.getLogger(__name__)

# run.json keys that must agree for a run folder to be resumed: anything else would mix two runs' logs.
RESUME_KEYS = ("model", "data", "forget", "cap", "max_new_tokens", "score_eos")


# --------------------------------------------------------------------------------------- tasks


def has_config(source, dataset: str, config: str) -> bool:
    """Whether `source` holds `config` of `dataset` ("clear" or "tofu"), without downloading anything
    (`DataSource.has_config`)."""
    return source.has_config(dataset, config)


def available_tasks(source, forget: int = DEFAULT_FORGET) -> list[str]:
    """Every task (in `TASKS` order) whose config exists in `source`: the six CLEAR tasks, TOFU text QA,
    and the holdout tasks when the source has holdout persons."""
    return [name for name, t in TASKS.items() if has_config(source, t.dataset, t.config_for(forget))]


def resolve_tasks(source, tasks: Sequence[str] | None, forget: int = DEFAULT_FORGET) -> list[TaskSpec]:
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
        extra={"question": sample.question, "row": sample.extra.get("row"),
               **({"prefill": sample.prefill} if sample.prefill else {})})


def task_samples(task: TaskSpec, dataset, forget: int = DEFAULT_FORGET, cap: int | None = DEFAULT_CAP) -> list[Sample]:
    """The first `cap` rows of a loaded config (a `datasets.Dataset` or a list of dicts) as samples."""
    from ..data.convert import decoded_rows

    n = len(dataset) if cap is None else min(cap, len(dataset))
    if hasattr(dataset, "select"):  # images decoded here, so a bad one is named by config and row, not by PIL alone
        where = f"{task.dataset.upper()} config '{task.config_for(forget)}'"
        rows = [row for _, row in decoded_rows(dataset.select(range(n)), where)]
    else:
        rows = dataset[:n]
    return samples_for_task(task, rows, forget=forget, cap=cap)


def evaluate_task(model, processor, task: TaskSpec, samples: Sequence[Sample], batch_size: int = 8,
                  max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS, shared_prefix: bool = True,
                  score_eos: bool = False) -> list[ItemRecord]:
    """Score (and, unless `max_new_tokens` is 0, generate for) one task's samples; records in input order.
    `score_eos`: the answers' end-of-turn token is scored too (`scoring` module docstring)."""
    from .scoring import score_items

    scores = score_items(model, processor, samples, generate=max_new_tokens > 0, shared_prefix=shared_prefix,
                         batch_size=batch_size, max_new_tokens=max(max_new_tokens, 1), score_eos=score_eos)
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


def check_gold(gold_dir, forget: int, score_eos: bool | None = None) -> None:
    """A gold run folder usable with a run of forget size `forget` (and, given `score_eos`, scored the same way: a
    truth ratio with the end-of-turn token is not one without), or a one-line `ClearBenchError`."""
    if not logs.list_tasks(gold_dir):  # raises if the folder does not exist
        raise ClearBenchError(f"gold run folder {gold_dir} holds no per-item logs (*{logs.SUFFIX}); "
                              "evaluate the gold model into it first")
    info = logs.read_run_info(gold_dir)
    gold_forget = info.get("forget")
    if gold_forget is not None and gold_forget != forget:
        raise ClearBenchError(f"gold run {gold_dir} was evaluated with forget={gold_forget}, this run uses "
                              f"forget={forget}; forget quality compares the same forget set")
    gold_eos = bool(info.get("score_eos", False))
    if score_eos is not None and gold_eos != score_eos:
        raise ClearBenchError(f"gold run {gold_dir} was scored with score_eos={gold_eos}, this run with "
                              f"score_eos={score_eos}; forget quality compares answers scored the same way")


def _run_info(model, source, config: EvalConfig, specs, batch_size, shared_prefix) -> dict[str, Any]:
    """run.json of an evaluation: how it was made (the keys of `RESUME_KEYS` must agree to resume it)."""
    param = next(iter(model.parameters()), None)
    return {
        "model": _model_name(model), "data": {"clear": source.name("clear"), "tofu": source.name("tofu")},
        "forget": config.forget, "cap": config.cap, "seed": None, "tasks": [t.name for t in specs],
        "batch_size": batch_size, "max_new_tokens": config.max_new_tokens, "score_eos": config.score_eos,
        "scoring": "shared_prefix" if shared_prefix else "naive",
        "device": str(param.device) if param is not None else None,
        "dtype": str(param.dtype).replace("torch.", "") if param is not None else None,
        "library_versions": library_versions(),
    }


def evaluate(model, processor, source, out_dir: str | os.PathLike, config: EvalConfig = EvalConfig(),
             tasks: Sequence[str] | None = None, batch_size: int = 8, shared_prefix: bool = True,
             gold_dir: str | os.PathLike | None = None, run_info: dict | None = None, progress: bool = True,
             transform=None) -> dict:
    """Evaluate `model` on `tasks` of `source` into `out_dir` and return the summary dict.

    model, processor: a loaded VLM and its processor (`models.loading.load_model`), already on device.
    source: a `data.sources.DataSource`.
    config: the forget size, cap, generation length and answer scoring (`EvalConfig`, checked when made).
    tasks: task names (see `tasks.TASKS`); None = every task whose config the source holds.
    batch_size: items per scoring forward (generation batches 2x as many on CPU, 8x on CUDA).
    shared_prefix: encode image + prompt once per item (same numbers as the naive path, faster).
    gold_dir: the gold model's run folder: enables forget quality and PrivLeak in the summary.
    run_info: extra facts for run.json (e.g. {"model": path, "seed": 42}); its keys win.
    transform: optional `transform(task_spec, samples) -> samples`, applied to each task's samples before scoring
        (the prompt and image attacks of `clear_bench/attacks/`: a prefilled answer, a paraphrased question, a
        transformed image); run_info should then say so, since the logs are of the changed items.

    Tasks already logged in `out_dir` are skipped (resume). Every pending task's config is loaded and
    checked before any scoring, so a bad input fails in seconds, not after hours of GPU time.
    """
    from .summary import summarize

    if batch_size <= 0:
        raise ClearBenchError(f"batch size must be positive (got {batch_size})")
    forget = config.forget
    specs = resolve_tasks(source, tasks, forget)
    out = check_writable(out_dir)
    if out.exists() and not out.is_dir():
        raise ClearBenchError(f"output {out} is a file, not a run folder")
    info = _run_info(model, source, config, specs, batch_size, shared_prefix)
    info.update(run_info or {})
    if out.is_dir():
        _check_resumable(out, info)
        old = logs.read_run_info(out)
        info["tasks"] = list(dict.fromkeys(old.get("tasks", []) + info["tasks"]))
        info["task_seconds"] = dict(old.get("task_seconds", {}))  # of the tasks finished before
    if gold_dir is not None:
        check_gold(gold_dir, forget, config.score_eos)

    pending = [t for t in specs if not (out.is_dir() and logs.task_done(out, t.name))]
    for t in specs:
        if t not in pending:
            log.info("%s: already in %s, skipped", t.name, out)
    configs = {t.name: source.load(t.dataset, t.config_for(forget)) for t in pending}

    out.mkdir(parents=True, exist_ok=True)
    info.setdefault("task_seconds", {})
    logs.write_run_info(out, info)  # before scoring, so that a resumed run can be checked against it
    for t in progress_bar(pending, desc="evaluate", unit="task", disable=not (progress and pending)):
        start = time.perf_counter()
        samples = task_samples(t, configs[t.name], forget=forget, cap=config.cap)
        if transform is not None:
            samples = transform(t, samples)
        records = evaluate_task(model, processor, t, samples, batch_size, config.max_new_tokens, shared_prefix,
                                config.score_eos)
        logs.write_task(out, t.name, records)
        info["task_seconds"][t.name] = round(time.perf_counter() - start, 2)
        logs.write_run_info(out, info)
        log.info("%s: %d items in %.1fs", t.name, len(records), info["task_seconds"][t.name])
    return summarize(out, gold_dir)


def read_model_manifest(path: str | os.PathLike) -> dict:
    """The `clear_manifest.json` of a fine-tuned model folder ({} when there is none or it is unreadable)."""
    from ..training.finetune import MANIFEST

    try:
        return json.loads((Path(path) / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError):
        return {}
