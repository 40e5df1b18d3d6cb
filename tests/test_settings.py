"""`config.setting`: a field's range is declared once and checked by `check_settings`."""
import re
from dataclasses import dataclass, field

import pytest

from clear_bench.config import check_settings, setting
from clear_bench.errors import ClearBenchError


@dataclass
class Inner:
    temperature: float = setting(2.0, gt=0)


@dataclass
class Cfg:
    beta: float = setting(0.1, gt=0)
    weight: float = setting(1.0, ge=0, le=10)
    steps: int = setting(3, ge=1, note="optimiser steps")
    mode: str = setting("max", choices=("max", "min"))
    free: float = 1.0
    names: list = field(default_factory=list)
    inner: Inner = field(default_factory=Inner)


def test_defaults_pass():
    check_settings(Cfg())


@pytest.mark.parametrize("kwargs, message", [
    ({"beta": 0}, "--method-arg beta must be > 0 (got 0)"),
    ({"weight": -5}, "--method-arg weight must be in [0, 10] (got -5)"),
    ({"steps": 0}, "--method-arg steps must be >= 1 (optimiser steps) (got 0)"),
    ({"mode": "mean"}, "--method-arg mode must be one of max, min (got mean)"),
    ({"free": float("nan")}, "--method-arg free must be a finite number (got nan)"),
    ({"beta": float("inf")}, "--method-arg beta must be a finite number (got inf)"),
    ({"inner": Inner(temperature=-1.0)}, "--method-arg temperature must be > 0 (got -1.0)"),
])
def test_out_of_range_is_one_line_naming_the_setting(kwargs, message):
    with pytest.raises(ClearBenchError) as e:
        check_settings(Cfg(**kwargs), name=lambda f: f"--method-arg {f}")
    assert str(e.value) == message


def test_unset_is_skipped_unless_required():
    @dataclass
    class Opt:
        lr: float | None = setting(None, gt=0)

    check_settings(Opt())
    check_settings(Opt(lr=1e-3))
    with pytest.raises(ClearBenchError):
        check_settings(Opt(lr=-1.0))


# --------------------------------------------------------------- flags from the fields (issue 21: one declaration)

def test_every_jobconfig_field_has_exactly_one_clear_eval_flag():
    """Each `JobConfig` field declares its flag once (`config.Flag`); clear-eval's parser has exactly one flag per
    field, with the field's help, and the config built from the parsed flags holds what was given."""
    import dataclasses

    from clear_bench.cli import eval_parser
    from clear_bench.config import config_from_flags, flag_dest, flag_name
    from clear_bench.job import JobConfig

    parser = eval_parser()
    options = [s for a in parser._actions for s in a.option_strings]
    assert len(options) == len(set(options))
    for f in dataclasses.fields(JobConfig):
        actions = [a for a in parser._actions if flag_name(f) in a.option_strings]
        if f.metadata.get("no_flag"):  # train_seed: set by --seeds K --vary train, never by a flag of its own
            assert not actions, f.name
            continue
        assert len(actions) == 1 and actions[0].dest == flag_dest(f) and actions[0].help, f.name
    args = parser.parse_args(["--preset", "demo", "--lora-r", "4", "--epochs", "2.5", "--no-compile", "--cap", "0",
                              "--method-arg", "beta=0.2", "--allow-unmemorised"])
    assert (args.lora_r, args.epochs, args.compile, args.cap, args.method_arg) == (4, 2.5, False, 0, ["beta=0.2"])
    cfg = config_from_flags(JobConfig, args, method_args={"beta": "0.2"}, forget=10)
    assert (cfg.preset, cfg.lora_r, cfg.epochs, cfg.compile, cfg.cap, cfg.allow_unmemorised, cfg.method) == \
        ("demo", 4, 2.5, False, 0, True, None)
    assert "hard limit 1000" in JobConfig.__doc__ and "`--lora-r`" in JobConfig.__doc__  # the docs, from the fields


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "2000"], r"--epochs must be <= 1000, clear-bench's hard limit \(got 2000.0\)"),
    (["--epochs", "0"], r"--epochs must be > 0 \(got 0.0\)"),
    (["--cap", "-2"], r"--cap must be >= 0 \(0 = every item\) \(got -2\)"),
    (["--seed", "-1"], r"--seed must be in \[0, 2\*\*32\) \(got -1\)"),
    (["--lr", "nan"], r"--lr must be a finite number \(got nan\)"),
])
def test_a_fields_range_and_limit_are_enforced_through_the_generated_parser(argv, message, capsys):
    from clear_bench.cli import clear_eval_main
    from clear_bench.job import JobConfig

    assert clear_eval_main(["--preset", "demo", "--method", "gd"] + argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.match("^error: " + message, err), err
    name, value = argv[0][2:].replace("-", "_"), float(argv[1])  # the same field refuses it from Python
    with pytest.raises(ClearBenchError, match=message.split(r" \(got")[0]):
        JobConfig(method="gd", **{name: int(value) if name in ("cap", "seed") else value})


def test_a_declared_setting_is_checked_by_every_command_that_has_its_flag(capsys):
    """--max-new-tokens is `EvalConfig`'s field: `clear-bench evaluate`'s flag is made from it and checked by it."""
    from clear_bench.cli import main

    assert main(["evaluate", "--model", "m", "--out", "o", "--max-new-tokens", "9000"]) == 2
    assert "error: --max-new-tokens must be <= 8192, clear-bench's hard limit (got 9000)" in capsys.readouterr().err


def test_add_flags_makes_a_flag_from_a_field_and_field_rules_checks_it():
    import argparse

    from clear_bench.config import Flag, add_flags, field_rules

    @dataclass
    class Job:
        steps: int = setting(3, ge=1, limit=10, flag=Flag("optimiser steps (default: 3)"))
        name: str | None = setting(None, flag=Flag("a name", name="--run-name", metavar="NAME"))

    parser = argparse.ArgumentParser()
    add_flags(parser, Job, ["steps", "name"])
    args = parser.parse_args(["--steps", "12", "--run-name", "x"])
    assert (args.steps, args.run_name, parser.get_default("steps")) == (12, "x", 3)
    rules = field_rules(Job)
    assert set(rules) == {"steps"} and rules["steps"].refusal(12) == "must be <= 10, clear-bench's hard limit (got 12)"
    assert rules["steps"].refusal(0) == "must be >= 1 (got 0)" and rules["steps"].refusal(5) is None


def test_the_lm_tracks_honour_every_jobconfig_flag():
    """A field added to `JobConfig` is a flag the LM recipe's tracks must list in `Track.flags` (else clear-eval
    would refuse it as another track's)."""
    import dataclasses

    from clear_bench.config import field_flag, flag_dest
    from clear_bench.job import JobConfig
    from clear_bench.tracks import TRACKS

    dests = {flag_dest(f) for f in dataclasses.fields(JobConfig) if field_flag(f) is not None}
    for track in TRACKS.values():
        if track.recipe == "lm":
            assert dests <= track.flags, (track.name, sorted(dests - track.flags))
