"""Command-line entry points: `clear-bench <command>`, `clear-eval` and `clear-generate`.

Every command runs inside one error boundary (`run_safely`): one line on stderr for any failure, exit code 2
for a known one (bad input, I/O), 1 for an internal error (its traceback goes to a log file). The CLI is this
module and `clear_bench/commands/` (one module per command family); it is a leaf: no library module imports it
(tests/test_layers.py).
"""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

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


# Every numeric flag of every command, checked before any work (`check_flags`): finite, and in range. A flag of a
# setting a config declares (`config.setting`: clear-eval's `job.JobConfig`, `eval.config.EvalConfig`) is checked by
# its field's range and limit, on every command that has a flag of that name; these rules cover the rest.
FLAG_RULES: dict[str, tuple[str, Callable[[float], bool]]] = {
    "lora_alpha": ("> 0", lambda v: v > 0),
    "grad_accum": (">= 1", lambda v: v >= 1), "weight_decay": (">= 0", lambda v: v >= 0),
    "warmup_epochs": (">= 0", lambda v: v >= 0), "max_grad_norm": (">= 0 (0 = no clipping)", lambda v: v >= 0),
    "authors": (">= 1", lambda v: v >= 1), "images_per_author": (">= 1", lambda v: v >= 1),
    "image_size": (">= 8", lambda v: v >= 8), "holdout_authors": (">= 0", lambda v: v >= 0),
    "seeds": (">= 1", lambda v: v >= 1), "threads": (">= 1", lambda v: v >= 1),
}
# Hard limits on counts and sizes (issue 28.3): past them a run cannot fit a machine or never ends. Each is far
# above what the paper uses (5 epochs, LoRA r 8-32, 128 split models, 200 TOFU authors).
FLAG_LIMITS: dict[str, float] = {
    "grad_accum": 4096, "warmup_epochs": 1000, "splits": 4096, "seeds": 1000, "threads": 4096, "authors": 100000,
    "images_per_author": 1000, "holdout_authors": 100000, "image_size": 4096,
}


def check_flags(args: argparse.Namespace) -> None:
    """Refuse, in one line, a numeric flag that is not finite or out of range (before any work)."""
    import math

    from .config import field_rules
    from .eval.config import EvalConfig
    from .job import JobConfig

    declared = field_rules(JobConfig, EvalConfig)
    for name, value in vars(args).items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        flag = "--" + name.replace("_", "-")
        if not math.isfinite(value):
            raise ClearBenchError(f"{flag} must be a finite number (got {value})")
        if name in declared:
            why = declared[name].refusal(value)
            if why:
                raise ClearBenchError(f"{flag} {why}")
            continue
        if name in FLAG_RULES and not FLAG_RULES[name][1](value):
            raise ClearBenchError(f"{flag} must be {FLAG_RULES[name][0]} (got {value})")
        if value > FLAG_LIMITS.get(name, math.inf):
            raise ClearBenchError(f"{flag} must be <= {FLAG_LIMITS[name]:g}, clear-bench's hard limit (got {value})")


# --------------------------------------------------------------------------- commands

from .commands.common import TOFU_HELP, add_data_args, resolve_source  # noqa: E402,F401  (shared flags)


THREADS_HELP = ("CPU threads for torch (default: 1 for the tiny demo models, else the idle cores; OMP_NUM_THREADS "
                "also sets it); the choice is printed first")


def _commands():
    from .commands import attack, audit, data, env, evaluate, leaderboard, ls, push, reproduce, transfer

    return [data.add_parser, evaluate.add_parser, leaderboard.add_parser, transfer.add_parser, ls.add_parser,
            audit.add_parser, env.add_parser, attack.add_parser, push.add_parser,
            lambda sub: reproduce.add_parser(sub, runner=run_grid_cell)]


def run_grid_cell(cell, log_path) -> int:
    """One cell of a `clear-bench reproduce` grid (`grid.execute` calls it, in this process or in a Ray worker):
    `clear-eval` with the cell's argv, its output and log lines into `log_path`; returns its exit status."""
    import contextlib

    _setup_logging()
    root = logging.getLogger()
    saved = root.handlers[:]
    with open(log_path, "a") as f, contextlib.redirect_stdout(f), contextlib.redirect_stderr(f):
        handler = logging.StreamHandler(f)
        handler.setFormatter(logging.Formatter("%(message)s"))
        root.handlers = [handler]
        try:
            return clear_eval_main(list(cell.argv))
        finally:
            root.handlers = saved


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clear-bench", description="CLEAR multimodal unlearning benchmark toolkit.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    sub = parser.add_subparsers(dest="command", required=True)
    for add in _commands():
        add(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)

    def run() -> int:
        check_flags(args)
        if hasattr(args, "preset") or hasattr(args, "model"):  # commands that train or score a model
            from .threads import apply_threads, is_tiny

            apply_threads(args.threads, is_tiny(getattr(args, "model", None), getattr(args, "preset", None)))
        return args.func(args)

    return run_safely(run, verbose=args.verbose, command=args.command)


def clear_generate_main(argv=None) -> int:
    import sys as _sys

    from .commands.generate import build_parser as generate_parser, cmd_generate

    argv = list(_sys.argv[1:] if argv is None else argv)
    verbose = bool({"-v", "--verbose"} & set(argv))
    argv = [a for a in argv if a not in ("-v", "--verbose")]

    def run() -> int:
        args = generate_parser().parse_args(argv)
        _setup_logging(verbose)  # after parsing: it imports transformers, which `--help` does not need
        check_flags(args)
        return cmd_generate(args)

    return run_safely(run, verbose=verbose, command="clear-generate")


def evaluate_main(argv=None) -> int:
    """`clear-bench evaluate` alone (tests, scripts); returns the exit status."""
    return main(["evaluate", *(argv or [])])


def report_main(argv=None) -> int:
    """`clear-bench report` alone (tests, scripts); returns the exit status."""
    return main(["report", *(argv or [])])


EVAL_HELP = """\
Run the CLEAR benchmark end to end for one unlearning method:

  1. fine-tune the target model on full+tofu and the gold model on retainNN+tofu
     (cached: a second run with the same inputs reuses them);
  2. evaluate gold and target on every task (cached, resumable per task), and check that the
     target memorised the forget set (else stop; --allow-unmemorised goes on);
  3. unlearn the forget set (text, image or both streams) with METHOD;
  4. evaluate the unlearned model; write results.md / results.png (before, after, gold),
     eval/ (per-item logs, summary.json), submission.json (leaderboard record); print the table.

Offline demo (CPU, a few minutes):   clear-eval --preset demo --method npo --modality both
Text-only track (TOFU, causal LM):   clear-eval --track text --preset demo --method npo
Paper setting (GPU, Hub access):     clear-eval --method npo --modality both --forget 10
Local copies of the two repos:       clear-eval --data CLEAR --tofu TOFU --method gd
  (hf download therem/CLEAR --repo-type dataset --local-dir CLEAR; the same for locuslab/TOFU)
Your own method:                     clear-eval --method mypkg.mymodule:MyMethod
"""


def eval_parser() -> argparse.ArgumentParser:
    """clear-eval's flags. A run's settings are `job.JobConfig`'s fields, whose flags `add_flags` makes (in this
    --help order); the flags declared here are clear-eval's own (seeds, attacks, the visual track's)."""
    from .config import add_flags
    from .job import JobConfig

    p = argparse.ArgumentParser(prog="clear-eval", description=EVAL_HELP,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_flags(p, JobConfig, ["method", "track", "modality", "forget", "preset", "data", "tofu", "model", "lora_r",
                             "l1_lambda", "epochs", "lr", "batch_size", "seed", "cap", "method_args", "out", "compile"])
    p.add_argument("--splits", type=int, default=None, help="visual track: split models, even and >= 4 (default: "
                   "the preset's: 128 paper, 8 demo)")
    p.add_argument("--pretrain", action=argparse.BooleanOptionalAction, default=None, help="visual track: teach the "
                   "ResNet face identity on tonyassi/celebrity-1000 first (default: on in the paper preset)")
    add_flags(p, JobConfig, ["trust_remote_code", "allow_unmemorised", "sequence"])
    p.add_argument("--seeds", type=int, default=1, metavar="K",
                   help="run seeds SEED .. SEED+K-1 into OUT/seed-<s>/ and write OUT/seeds.md with mean ± sd "
                        "per metric (default: 1, a single run)")
    p.add_argument("--vary", default="unlearn", choices=("unlearn", "train", "both"),
                   help="with --seeds: which seed the seeds are: unlearn (pairing, shuffling, LoRA init; the "
                        "default), train (target and gold re-fine-tuned per seed, cached per seed) or both")
    p.add_argument("--attacks", default=None, metavar="NAME,...",
                   help="after the run, attack its saved model and re-score (as `clear-bench attack OUT --attacks "
                        "...`; `clear-bench ls attacks`), e.g. quanto-int8,quanto-int4, or 'default' (int8, int4 and "
                        "both relearning attacks, those the track takes) or 'all'; one seed (the visual track: "
                        "quantization and relearning of every split model's face-ID model, inside the run)")
    p.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    p.add_argument("--config", default=None, metavar="FILE",
                   help="flags from a YAML file (flag names as keys; method-arg as a mapping); flags given here win. "
                        "Every run writes OUT/clear-eval.yaml, which --config takes to repeat it")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging, and tracebacks of errors")
    return p


def clear_eval_main(argv=None) -> int:
    """`clear-eval`: parse (`eval_parser`, `--config FILE`), then the track's job (`_run_track`)."""
    from .configfile import parse_with_config, settings

    p = eval_parser()
    try:
        args = parse_with_config(p, argv)
    except ClearBenchError as e:  # the file's problems: one line, as for any bad input
        print(f"error: {e}", file=sys.stderr)
        return 2
    _setup_logging(args.verbose)
    ran = settings(args, p)  # before the job fills in defaults: the command as given

    def run() -> int:
        from .threads import apply_threads, is_tiny

        check_flags(args)
        apply_threads(args.threads, is_tiny(args.model, args.preset))
        return _run_track(args, p, ran)

    return run_safely(run, verbose=args.verbose, command="clear-eval")


def refuse_foreign_flags(args: argparse.Namespace, parser: argparse.ArgumentParser, track) -> None:
    """A flag the user gave that `track` does not honour is a one-line error naming it (never ignored)."""
    from .configfile import default

    for name, value in vars(args).items():
        if name not in track.flags and value != default(parser, name):
            flag = "--" + name.replace("_", "-")
            honour = sorted(t.name for t in _tracks().values() if name in t.flags)
            raise ClearBenchError(f"{flag} belongs to --track {' / '.join(honour)}, not --track {track.name}"
                                  + ("; set a method's hyper-parameters with --method-arg KEY=VALUE"
                                     if track.recipe != "lm" else ""))


def check_method_track(method: str, track) -> None:
    """A registered method of another track, or one this track refuses, is one line before any work."""
    why = track.refusal(method)
    if why:
        raise ClearBenchError(f"method '{method}' does not run on the {track.name} track: {why}")
    if ":" in method or method in track.method_names():
        return
    for other in _tracks().values():
        if other.methods != track.methods and method in other.method_names():
            raise ClearBenchError(f"method '{method}' belongs to the {other.name} track (add --track {other.name}); "
                                  f"the {track.name} track has: {', '.join(track.method_names())}")


def _tracks():
    from .tracks import TRACKS

    return TRACKS


def _method_args(items: list[str]) -> dict:
    margs = {}
    for item in items:
        if "=" not in item:
            raise ClearBenchError(f"--method-arg '{item}' must look like KEY=VALUE")
        k, v = item.split("=", 1)
        margs[k.strip()] = v.strip()
    return margs


def _sequence(args: argparse.Namespace) -> tuple[int, ...] | None:
    """--sequence's sizes (checked; never with --forget or --seeds); sets args.forget to its default."""
    from .data.schema import DEFAULT_FORGET

    if args.sequence is None:
        args.forget = DEFAULT_FORGET if args.forget is None else args.forget
        return None
    from .sequence import parse_sequence

    sizes = parse_sequence(args.sequence)
    if args.forget is not None:
        raise ClearBenchError("--sequence sets the forget sizes itself; leave out --forget")
    if args.seeds > 1:
        raise ClearBenchError("--sequence runs one seed; leave out --seeds (or run the sequence once per --seed)")
    if getattr(args, "attacks", None) is not None:
        raise ClearBenchError("--sequence saves no model to attack; leave out --attacks")
    args.forget = sizes[-1]
    return sizes


def _run_track(args: argparse.Namespace, parser: argparse.ArgumentParser, ran: dict | None = None) -> int:
    """`clear-eval` after parsing: the track's flags, its job (one seed or `--seeds K`), the printed result, and
    the settings it ran with (`ran`) as OUT/clear-eval.yaml."""
    from .configfile import write_config
    from .repeat import run_seeds
    from .tracks import get_track

    track = get_track(args.track)
    refuse_foreign_flags(args, parser, track)
    args.method = args.method or track.default_method
    check_method_track(args.method, track)
    if getattr(args, "vary", "unlearn") != "unlearn" and args.seeds < 2:
        raise ClearBenchError(f"--vary {args.vary} chooses which seed --seeds K varies: give --seeds 2 or more")
    if args.attacks is not None:  # an unknown or inapplicable attack is refused before any training
        from .attacks import check_attacks

        check_attacks(args.attacks, track.name)
        if args.seeds > 1:
            raise ClearBenchError("--attacks runs on one run folder; with --seeds, attack each seed-<s>/ folder with "
                                  "`clear-bench attack`")
    margs = _method_args(args.method_arg)
    sequence = _sequence(args)
    if track.recipe == "split-model":
        from .visual import VisualJobConfig, run_visual_job as run_job

        cfg = VisualJobConfig(method=args.method, forget=args.forget, preset=args.preset, data=args.data,
                              splits=args.splits, seed=args.seed, out=args.out, method_args=margs,
                              pretrain=args.pretrain, attacks=args.attacks)
        track.check_modality(args.modality)
    else:
        from .config import config_from_flags
        from .job import JobConfig, run_job

        cfg = config_from_flags(JobConfig, args, track=track.name, method_args=margs, sequence=sequence)
    if args.seeds > 1:
        out = run_seeds(cfg, args.seeds, run_job, track, vary=args.vary)
        write_config(out, ran or {})
        print((out / "seeds.md").read_text())
        print(f"group folder: {out}  (seed-<s>/ per seed, seeds.json)")
        return 0
    if sequence:
        from .sequence import run_sequence

        out = run_sequence(cfg)
        write_config(out, ran or {})
        print((out / "sequence.md").read_text())
        print(f"run folder: {out}  (sequence.png, request-<k>-forget<NN>/ per request, submission.json)")
        return 0
    out = run_job(cfg)
    write_config(out, ran or {})
    print((out / "results.md").read_text())
    if args.attacks is not None and track.recipe != "split-model":  # the visual job attacks its split models itself
        from accelerate import PartialState

        from .attacks.run import run_attacks
        from .commands.attack import results_table

        if PartialState().is_main_process:  # under `accelerate launch`, the main process attacks (as it evaluates)
            print(results_table(run_attacks(out, args.attacks)))
    print(f"run folder: {out}  (results.png, {track.summary}, submission.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
