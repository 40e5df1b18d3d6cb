"""`clear-bench evaluate` (score a model on every task) and `clear-bench report` (metrics from logs)."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from ..errors import ClearBenchError
from .common import add_data_args, add_forget_arg, resolve_source

log = logging.getLogger("clear_bench")

EVALUATE_DESCRIPTION = ("Score a model on the CLEAR evaluation tasks (and TOFU text QA, holdout when the data "
                        "has them): per-item logs, then every metric in summary.json and summary.md.")
REPORT_DESCRIPTION = ("Compute every metric from evaluation run folders (per-item logs), print a markdown table "
                      "(several runs: side by side), and refresh each run's summary.json and summary.md unless that "
                      "would drop a metric they hold (e.g. the gold-based ones, without --gold): those are kept as "
                      "they were. Directions: ↑ higher is better, ↓ lower, →x closer to x.")


def add_evaluate_args(p: argparse.ArgumentParser) -> None:
    from ..config import add_flags
    from ..eval.config import EvalConfig
    from ..eval.tasks import DEFAULT_CAP, TASKS

    p.add_argument("--model", required=True, help="model folder (or Hub id) to evaluate; safetensors only")
    p.add_argument("--out", required=True, help="run folder: <task>.jsonl per task, run.json, summary.json/.md; "
                   "an interrupted run resumes where it stopped")
    add_data_args(p)
    add_forget_arg(p)
    p.add_argument("--gold", metavar="GOLD_RUN_DIR", default=None,
                   help="run folder of the gold model (fine-tuned on the retain set only): forget quality, PrivLeak")
    p.add_argument("--tasks", default=None, help="comma-separated task names (default: every task the data has; "
                   f"valid: {', '.join(TASKS)})")
    p.add_argument("--cap", type=int, default=DEFAULT_CAP,
                   help=f"items per task, first in dataset order; 0 = all (default: {DEFAULT_CAP})")
    p.add_argument("--batch-size", type=int, default=8, help="items per scoring forward (default: 8)")
    add_flags(p, EvalConfig, ["max_new_tokens"])
    p.add_argument("--naive-scoring", action="store_true",
                   help="re-encode image and prompt for every answer variant (slower; same numbers)")
    add_flags(p, EvalConfig, ["score_eos"])
    p.add_argument("--device", default=None, help="cuda, cuda:1, cpu (default: cuda if available)")
    p.add_argument("--trust-remote-code", action="store_true", help="allow code shipped with the model to run")


def _earlier_run(folder: Path) -> bool:
    """An evaluation folder written before run markers: its run.json records our library versions."""
    from ..eval import logs

    info = logs.read_run_info(folder)
    return isinstance(info, dict) and "clear_bench" in (info.get("library_versions") or {})


def cmd_evaluate(args) -> int:
    """Run `clear-bench evaluate` from parsed arguments; user errors raise `ClearBenchError`."""
    from ..data.schema import check_forget
    from ..eval.config import EvalConfig
    from ..eval.run import check_gold, evaluate, read_model_manifest, resolve_tasks
    from ..eval.summary import summary_markdown
    from ..eval.tasks import get_task
    from ..models.loading import load_model
    from ..presets import get_preset
    from ..runs import EVALUATION, claim
    from ..utils import hardware, looks_like_path

    # Everything that can be checked without the model (names, data, gold run) is checked first, and
    # nothing is written before the model has loaded.
    tasks = [n.strip() for n in args.tasks.split(",") if n.strip()] if args.tasks else None
    for name in tasks or ():
        get_task(name)
    check_forget(args.forget)
    model_path = Path(args.model).expanduser()
    if not model_path.exists() and looks_like_path(args.model):
        raise ClearBenchError(f"model folder {args.model} does not exist")
    preset = get_preset(args.preset)
    source = resolve_source(args, preset)
    model_id = os.path.abspath(model_path) if model_path.exists() else args.model
    settings = EvalConfig(forget=args.forget, cap=None if args.cap == 0 else args.cap,
                          max_new_tokens=args.max_new_tokens, score_eos=args.score_eos)
    run = claim(args.out, EVALUATION, {  # a folder of another run, or of the user's files, is refused
        "model": model_id, "data": {"clear": source.name("clear"), "tofu": source.name("tofu")},
        "forget": args.forget, "cap": None if args.cap == 0 else args.cap, "max_new_tokens": args.max_new_tokens,
        "scoring": "naive" if args.naive_scoring else "shared_prefix",
        **({"score_eos": True} if args.score_eos else {})},
        adopt=_earlier_run)
    out = run.folder
    if args.gold is not None:
        check_gold(args.gold, args.forget, args.score_eos)
    for t in resolve_tasks(source, tasks, args.forget):  # data errors before the (slow) model load; cached
        source.load(t.dataset, t.config_for(args.forget))
    model, processor = load_model(str(model_path) if model_path.exists() else args.model, device=args.device,
                                  trust_remote_code=args.trust_remote_code)
    manifest = read_model_manifest(model_path) if model_path.is_dir() else {}
    # an absolute folder path, so that resuming from another working directory is recognised
    run_info = {"model": model_id, "preset": preset.name, "hardware": hardware(),
                "seed": manifest.get("config", {}).get("train", {}).get("seed")}
    if manifest:
        run_info["model_manifest"] = {k: manifest[k] for k in ("fingerprint", "base_model", "data_config")
                                      if k in manifest}
    run.start()
    summary = evaluate(model, processor, source, out, settings, tasks=tasks, batch_size=args.batch_size,
                       shared_prefix=not args.naive_scoring, gold_dir=args.gold, run_info=run_info)
    run.finish()
    sys.stdout.write(summary_markdown(summary))
    log.info("per-item logs and summary in %s", out)
    return 0


def add_report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", metavar="RUN", help="evaluation run folder(s) holding <task>.jsonl logs")
    p.add_argument("--gold", metavar="GOLD_RUN", help="the gold model's run folder (model fine-tuned on the "
                   "retain set only): enables forget quality and PrivLeak")
    p.add_argument("--metrics", metavar="NAMES", help="comma-separated metric names (default: all registered)")


def cmd_report(args) -> int:
    """Run `clear-bench report` from parsed arguments; user errors raise `ClearBenchError`."""
    from ..eval.report import report

    names = [n.strip() for n in args.metrics.split(",") if n.strip()] if args.metrics else None
    sys.stdout.write(report(args.runs, args.gold, names))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="score a model on every task; per-item logs and summary",
                       description=EVALUATE_DESCRIPTION)
    add_evaluate_args(p)
    p.set_defaults(func=cmd_evaluate)
    p = sub.add_parser("report", help="recompute every metric from run folders' per-item logs",
                       description=REPORT_DESCRIPTION)
    add_report_args(p)
    p.set_defaults(func=cmd_report)
