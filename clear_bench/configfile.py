"""`--config FILE`: a command's flags from a YAML file, and the file a run writes so that it can be repeated.

The file is a mapping of flag names (`lora-r` or `lora_r`) to values, as TRL's and lm-evaluation-harness's
`--config` take; flags given on the command line win over the file. `--method-arg` is a mapping
(`method-arg: {beta: 0.2}`) or a list of `KEY=VALUE`. A run writes `clear-eval.yaml` (every setting it ran with,
`write_config`), which `clear-eval --config` accepts: the same settings, the same record config hash
(tests/test_configfile.py).
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Sequence

from .errors import ClearBenchError, UnknownNameError

FILE_NAME = "clear-eval.yaml"
SKIP = {"help", "config", "verbose", "threads"}  # not settings of the run (threads: this machine's choice)


def _actions(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {a.dest: a for a in parser._actions if a.dest not in SKIP and a.option_strings}


def _value(action: argparse.Action, key: str, value: Any, where: str) -> Any:
    """`value` of the file converted as the flag's own parser would, or one line naming the key."""
    flag = action.option_strings[-1]
    if isinstance(action, (argparse._StoreTrueAction, argparse.BooleanOptionalAction)) or \
            isinstance(action.default, bool):
        if value is not None and not isinstance(value, bool):
            raise ClearBenchError(f"{where}: '{key}' ({flag}) must be true or false (got {value!r})")
        return value
    if isinstance(action, argparse._AppendAction):  # --method-arg
        if isinstance(value, dict):
            return [f"{k}={v}" for k, v in value.items()]
        if isinstance(value, list):
            return [str(v) for v in value]
        raise ClearBenchError(f"{where}: '{key}' ({flag}) must be a mapping or a list of KEY=VALUE")
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        raise ClearBenchError(f"{where}: '{key}' ({flag}) takes one value (got {type(value).__name__})")
    try:
        return action.type(value) if action.type is not None else str(value)
    except (TypeError, ValueError):
        raise ClearBenchError(f"{where}: '{key}' ({flag}) must be a {getattr(action.type, '__name__', 'value')} "
                              f"(got {value!r})") from None


def read_config(path: str | Path, parser: argparse.ArgumentParser) -> dict[str, Any]:
    """The parser defaults the YAML file at `path` sets (dest -> value); one line for any problem."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ClearBenchError(f"--config {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ClearBenchError(f"--config {path}: cannot read it ({e})") from None
    except yaml.YAMLError as e:
        raise ClearBenchError(f"--config {path}: not valid YAML ({' '.join(str(e).split())})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ClearBenchError(f"--config {path}: must be a mapping of flag names to values")
    actions = _actions(parser)
    out = {}
    for key, value in data.items():
        dest = str(key).lstrip("-").replace("-", "_")
        if dest not in actions:
            raise UnknownNameError(f"setting in --config {path}", str(key),
                                   [a.replace("_", "-") for a in actions])
        out[dest] = _value(actions[dest], str(key), value, f"--config {path}")
    return out


def parse_with_config(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse `argv`, with the defaults a `--config FILE` among them sets (command-line flags win)."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", default=None)
    known, _ = pre.parse_known_args(argv)
    if known.config is not None:
        values = read_config(known.config, parser)
        # what the flags default to without the file: a flag the file sets counts as given (`default`)
        parser.original_defaults = {dest: parser.get_default(dest) for dest in values}
        parser.set_defaults(**values)
    return parser.parse_args(argv)


def default(parser: argparse.ArgumentParser, dest: str) -> Any:
    """`dest`'s default before any `--config` file set it (so a setting from the file counts as given)."""
    return getattr(parser, "original_defaults", {}).get(dest, parser.get_default(dest))


def settings(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict[str, Any]:
    """Every setting of a parsed command as `--config` reads it back (flag name -> value)."""
    out = {}
    for dest in _actions(parser):
        value = getattr(args, dest, None)
        if dest == "method_arg" and all("=" in item for item in value or []):  # else refused later, one line
            value = dict(item.split("=", 1) for item in value or [])
        out[dest.replace("_", "-")] = value
    return out


def write_config(folder: str | Path, ran: dict[str, Any]) -> Path:
    """FOLDER/clear-eval.yaml: the settings the run ran with (`settings`, taken right after parsing), for
    `clear-eval --config`."""
    import yaml

    from .utils import atomic_write_text

    head = "# written by clear-eval: `clear-eval --config THIS_FILE` repeats the run (flags given there win)\n"
    return atomic_write_text(Path(folder) / FILE_NAME, head + yaml.safe_dump(ran, sort_keys=False))
