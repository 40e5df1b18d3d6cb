"""Command-line entry points: `clear-bench <command>`, `clear-eval` and `clear-generate`.

Every command runs inside one error boundary (`run_safely`): one line on stderr for any failure, exit code 2
for a known one (bad input, I/O), 1 for an internal error (its traceback goes to a log file).
"""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from .errors import ClearBenchError

log = logging.getLogger("clear_bench")


def _setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s")
    for noisy in ("transformers", "datasets", "accelerate", "peft", "httpx", "urllib3", "filelock", "fsspec"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    import warnings

    warnings.filterwarnings("ignore", message=".*torchvision.*")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
    except ImportError:
        pass


def run_safely(fn: Callable[[], int], verbose: bool = False, command: str = "clear-bench") -> int:
    """The error boundary of every console script.

    A known failure (`failures.explain`: bad input, I/O and disk, a corrupt weights file, a plug-in that fails
    to import) is one line "error: ..." and exit code 2; an unexpected one is one line "internal error: ..."
    naming a log file that holds the traceback, and exit code 1; `verbose` also prints the traceback. Either
    way, a run folder that holds nothing but its marker is removed (`runs.discard_unfinished`).
    """
    import traceback

    from . import failures, runs

    try:
        return fn() or 0
    except KeyboardInterrupt:
        runs.discard_unfinished()
        print("interrupted: finished units are kept; run the same command again to resume", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 (the boundary: every exception ends in one line)
        runs.discard_unfinished()
        if verbose:
            traceback.print_exception(e, file=sys.stderr)
        line = failures.explain(e)
        if line is not None:
            print(f"error: {line}", file=sys.stderr)
            return 2
        where = failures.write_log(e, command)
        print(f"internal error: {type(e).__name__}: {failures.first_line(e)} (traceback in {where}; -v prints it)",
              file=sys.stderr)
        return 1


# Every numeric flag of every command, checked before any work (`check_flags`): finite, and in range.
FLAG_RULES: dict[str, tuple[str, Callable[[float], bool]]] = {
    "cap": (">= 0 (0 = every item)", lambda v: v >= 0), "batch_size": (">= 1", lambda v: v >= 1),
    "max_new_tokens": (">= 0 (0 = no generation)", lambda v: v >= 0), "epochs": ("> 0", lambda v: v > 0),
    "lr": ("> 0", lambda v: v > 0), "l1_lambda": (">= 0", lambda v: v >= 0), "lora_r": (">= 0 (0 = no LoRA)",
    lambda v: v >= 0), "lora_alpha": ("> 0", lambda v: v > 0), "seed": ("in [0, 2**32)", lambda v: 0 <= v < 2**32),
    "grad_accum": (">= 1", lambda v: v >= 1), "weight_decay": (">= 0", lambda v: v >= 0),
    "warmup_epochs": (">= 0", lambda v: v >= 0), "max_grad_norm": (">= 0 (0 = no clipping)", lambda v: v >= 0),
    "authors": (">= 1", lambda v: v >= 1), "images_per_author": (">= 1", lambda v: v >= 1),
    "image_size": (">= 8", lambda v: v >= 8), "holdout_authors": (">= 0", lambda v: v >= 0),
    "seeds": (">= 1", lambda v: v >= 1),
}


def check_flags(args: argparse.Namespace) -> None:
    """Refuse, in one line, a numeric flag that is not finite or out of range (before any work)."""
    import math

    for name, value in vars(args).items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        flag = "--" + name.replace("_", "-")
        if not math.isfinite(value):
            raise ClearBenchError(f"{flag} must be a finite number (got {value})")
        if name in FLAG_RULES and not FLAG_RULES[name][1](value):
            raise ClearBenchError(f"{flag} must be {FLAG_RULES[name][0]} (got {value})")


# --------------------------------------------------------------------------- data source / preset


TOFU_HELP = "TOFU source, a Hub id or folder (default: the --data folder's tofu/, else locuslab/TOFU)"


def add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", default="paper", help="paper (Hub data, real VLM, GPU) or demo (offline, tiny, CPU)")
    p.add_argument("--data", default=None, help="a Hub id of CLEAR, or a local folder with clear/ and tofu/ in the "
                   "Hub layout (default: the preset's)")
    p.add_argument("--tofu", default=None, help=TOFU_HELP)


def resolve_source(args, preset):
    from .data.sources import DataSource
    from .presets import demo_data_dir

    data = args.data or preset.data
    if data is None:
        source = DataSource()
    elif data == "demo":
        source = DataSource.from_path(demo_data_dir())
    else:
        source = DataSource.from_path(data)
    if getattr(args, "tofu", None):  # on every branch: `--tofu` alone swaps the TOFU half of the preset's data
        source = DataSource(source.clear, args.tofu)
    return source


# --------------------------------------------------------------------------- finetune


def _finetune_parser(sub) -> None:
    from .config import add_dataclass_args
    from .training.loop import TrainConfig

    p = sub.add_parser("finetune", help="fine-tune the target (full+tofu) or gold (retainNN+tofu) model",
                       description="Fine-tune a VLM on CLEAR+TOFU with the paper's recipe (or the demo's).")
    add_data_args(p)
    p.add_argument("--model", default=None,
                   help="Hub id or folder of the base model, or 'tiny' / 'tiny-qwen2vl' (default: preset's)")
    p.add_argument("--split", default="full", help="full (target model) or retain90/retain95/retain99 (gold model)")
    p.add_argument("--lora-r", type=int, default=None, help="LoRA rank; 0 = full fine-tuning (default: preset's)")
    p.add_argument("--lora-alpha", type=int, default=32, help="LoRA scaling numerator (default: 32)")
    p.add_argument("--out", required=True, help="output model folder")
    p.add_argument("--trust-remote-code", action="store_true", help="allow code shipped with the model to run")
    from .presets import PRESETS

    add_dataclass_args(p, TrainConfig, bases={name: preset.finetune for name, preset in PRESETS.items()})
    p.set_defaults(func=cmd_finetune)


def cmd_finetune(args) -> int:
    from .config import build_dataclass
    from .presets import get_preset
    from .training.finetune import FinetuneConfig, finetune
    from .training.loop import TrainConfig
    from .utils import check_writable

    preset = get_preset(args.preset)
    check_writable(args.out)
    source = resolve_source(args, preset)
    cfg = FinetuneConfig(model=args.model or preset.model, split=args.split,
                         lora_r=preset.lora_r if args.lora_r is None else args.lora_r, lora_alpha=args.lora_alpha,
                         train=build_dataclass(TrainConfig, args, base=preset.finetune),
                         trust_remote_code=args.trust_remote_code, extra_requests=preset.finetune_requests,
                         replay_world_knowledge=preset.finetune_replay)
    out = finetune(cfg, source, args.out)
    print(f"model written to {out}")
    return 0


# --------------------------------------------------------------------------- validate


def _validate_parser(sub) -> None:
    p = sub.add_parser("validate", help="check every config of a CLEAR/TOFU source before a run",
                       description="Load every CLEAR and TOFU config from a Hub id or local folder, check the "
                                   "schema, and print a one-screen report.")
    p.add_argument("--data", required=True, help="Hub id of CLEAR, a local folder with clear/ and tofu/, or 'demo'")
    p.add_argument("--tofu", default=None, help=TOFU_HELP)
    p.set_defaults(func=cmd_validate)


def cmd_validate(args) -> int:
    from .data.validate import validate_source
    from .presets import get_preset

    source = resolve_source(args, get_preset("demo" if args.data == "demo" else "paper"))
    report = validate_source(source)
    print(report.render())
    return 1 if report.problems else 0


# --------------------------------------------------------------------------- entry points

def _eval_parsers(sub) -> None:
    from .eval.run import add_evaluate_parser, add_report_parser

    add_evaluate_parser(sub)
    add_report_parser(sub)


def _leaderboard_parser(sub) -> None:
    from .leaderboard.build import add_leaderboard_parser

    add_leaderboard_parser(sub)


COMMANDS = [_finetune_parser, _validate_parser, _eval_parsers, _leaderboard_parser]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clear-bench", description="CLEAR multimodal unlearning benchmark toolkit.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in COMMANDS:
        add(sub)
    return parser


def _claim_leaderboard(out) -> None:
    """`leaderboard --out`: a new or empty folder, or a leaderboard folder of ours; never a user's folder."""
    from . import runs

    def earlier_board(folder):  # written before markers: our leaderboard.md, by its content
        try:
            return (folder / "leaderboard.md").read_text().startswith("# CLEAR leaderboard")
        except OSError:
            return False

    runs.claim(out, runs.LEADERBOARD, {}, adopt=earlier_board).start()


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)

    def run() -> int:
        check_flags(args)
        if args.command == "leaderboard":
            _claim_leaderboard(args.out)
        return args.func(args)

    return run_safely(run, verbose=args.verbose, command=args.command)


def clear_generate_main(argv=None) -> int:
    import sys as _sys

    argv = list(_sys.argv[1:] if argv is None else argv)
    verbose = bool({"-v", "--verbose"} & set(argv))
    argv = [a for a in argv if a not in ("-v", "--verbose")]
    _setup_logging(verbose)
    from .generation.cli import build_parser as gen_parser, main as gen_main

    def run() -> int:
        check_flags(gen_parser().parse_args(argv))
        return gen_main(argv)

    return run_safely(run, verbose=verbose, command="clear-generate")


EVAL_HELP = """\
Run the CLEAR benchmark end to end for one unlearning method:

  1. fine-tune the target model on full+tofu and the gold model on retainNN+tofu
     (cached: a second run with the same inputs reuses them);
  2. evaluate gold and target on every task (cached, resumable per task);
  3. unlearn the forget set (text, image or both streams) with METHOD;
  4. evaluate the unlearned model; write results.md / results.png (before, after, gold),
     eval/ (per-item logs, summary.json), submission.json (leaderboard record); print the table.

Offline demo (CPU, a few minutes):   clear-eval --preset demo --method npo --modality both
Paper setting (GPU, Hub access):     clear-eval --method npo --modality both --forget 10
Local copy of the data:              clear-eval --data /path/to/copy --method gd
Your own method:                     clear-eval --method mypkg.mymodule:MyMethod
"""


def clear_eval_main(argv=None) -> int:
    from .baselines import available

    p = argparse.ArgumentParser(prog="clear-eval", description=EVAL_HELP,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--method", default="npo", help="unlearning method: one of " + ", ".join(available())
                   + "; or module:Class; or an entry-point name (default: npo)")
    p.add_argument("--modality", default="both", help="forget stream: text, image or both (default: both)")
    p.add_argument("--forget", type=int, default=10, help="forget-set size in percent: 1, 5 or 10 (default: 10)")
    p.add_argument("--preset", default="paper", help="paper (default; Hub data, Qwen2-VL-2B-Instruct, GPU) or "
                   "demo (built-in offline data, tiny model, CPU)")
    p.add_argument("--data", default=None, help="local folder with clear/ and tofu/ in the Hub layout, or a Hub id")
    p.add_argument("--model", default=None, help="base model to fine-tune (Hub id, folder, or 'tiny' / 'tiny-qwen2vl')")
    p.add_argument("--lora-r", type=int, default=None, help="LoRA rank for unlearning; 0 = full fine-tuning")
    p.add_argument("--l1-lambda", type=float, default=0.0, help="L1 penalty on the LoRA weights (paper: 0.01-0.1)")
    p.add_argument("--epochs", type=float, default=None,
                   help="unlearning epochs (default: the preset's: 5 paper, 10 demo)")
    p.add_argument("--lr", type=float, default=None,
                   help="unlearning learning rate (default: the preset's: 1e-5 paper, 1e-3 demo)")
    p.add_argument("--batch-size", type=int, default=None, help="forget items per step (default: 4)")
    p.add_argument("--seed", type=int, default=42, help="seed of pairing, shuffling and LoRA initialisation "
                   "(default: 42)")
    p.add_argument("--cap", type=int, default=None, help="items per evaluation task, first in dataset order; "
                   "0 = all (default: 300)")
    p.add_argument("--method-arg", action="append", default=[], metavar="KEY=VALUE",
                   help="method hyper-parameter, e.g. --method-arg beta=0.2 (repeatable)")
    p.add_argument("--out", default=None, help="run folder (default: runs/METHOD-MODALITY-forgetNN)")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                   help="fine-tune target and gold with torch.compile'd layers (faster on a GPU once compiled; "
                        "default: the preset's)")
    p.add_argument("--trust-remote-code", action="store_true",
                   help="let code shipped with the base model run (off by default; only for a model you trust)")
    p.add_argument("--seeds", type=int, default=1, metavar="K",
                   help="run seeds SEED .. SEED+K-1 into OUT/seed-<s>/ and write OUT/seeds.md with mean ± sd "
                        "per metric (default: 1, a single run)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging, and tracebacks of errors")
    args = p.parse_args(argv)
    _setup_logging(args.verbose)

    def run() -> int:
        from .job import JobConfig, run_job

        check_flags(args)
        margs = {}
        for item in args.method_arg:
            if "=" not in item:
                raise ClearBenchError(f"--method-arg '{item}' must look like KEY=VALUE")
            k, v = item.split("=", 1)
            margs[k.strip()] = v.strip()
        cfg = JobConfig(method=args.method, modality=args.modality, forget=args.forget, preset=args.preset,
                        data=args.data, model=args.model, lora_r=args.lora_r, l1_lambda=args.l1_lambda,
                        epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, seed=args.seed, out=args.out,
                        cap=args.cap, method_args=margs, compile=args.compile,
                        trust_remote_code=args.trust_remote_code)
        if args.seeds > 1:
            from .repeat import run_seeds

            out = run_seeds(cfg, args.seeds)
            print((out / "seeds.md").read_text())
            print(f"group folder: {out}  (seed-<s>/ per seed, seeds.json)")
            return 0
        out = run_job(cfg)
        print((out / "results.md").read_text())
        print(f"run folder: {out}  (results.png, eval/summary.json, submission.json)")
        return 0

    return run_safely(run, verbose=args.verbose, command="clear-eval")


if __name__ == "__main__":
    sys.exit(main())
