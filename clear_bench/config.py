"""Dataclass configs become CLI flags; their docstring `Attributes:` sections become the help text.

A field declared with `setting(..., flag=Flag(help=...))` is the one declaration of a command-line setting
(transformers' `HfArgumentParser` reads `field.metadata["help"]` the same way): `add_flags` makes its `--flag`,
`check_settings` / `field_rules` check its range and hard limit, `attributes_doc` writes its docstring entry.
`job.JobConfig` (clear-eval) is declared so."""
from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import typing
from typing import Any


def field_docs(cls) -> dict[str, str]:
    """Parse 'name: text' entries (with continuation lines) from a dataclass docstring's Attributes section; a
    subclass's entries add to (or override) those of the dataclasses it extends."""
    docs = {}
    for klass in reversed(cls.__mro__[:-1]):
        if dataclasses.is_dataclass(klass) and "__doc__" in klass.__dict__:
            docs.update(_own_field_docs(inspect.cleandoc(klass.__doc__ or "")))
    return docs


def _own_field_docs(doc: str) -> dict[str, str]:
    """'name: text' entries of the Attributes section: lines at the section's first entry's indentation start an
    entry, deeper ones continue it (a docstring that opens with "Attributes:" has its entries at indentation 0
    once cleaned)."""
    lines = doc.splitlines()
    if "Attributes:" not in (line.strip() for line in lines):
        return {}
    section = lines[[line.strip() for line in lines].index("Attributes:") + 1:]
    body = [line for line in section if line.strip()]
    indent = len(body[0]) - len(body[0].lstrip()) if body else 0
    docs, current = {}, None
    for line in section:
        depth = len(line) - len(line.lstrip())
        m = re.match(r"^(\w+): (.*)$", line.strip())
        if depth == indent and m:
            current = m.group(1)
            docs[current] = m.group(2)
        elif current and line.strip() and depth > indent:
            docs[current] += " " + line.strip()
        elif line.strip():
            current = None
    return docs


def add_dataclass_args(parser: argparse.ArgumentParser, cls, prefix: str = "", skip=(), bases=None) -> None:
    """Add one `--flag` per (nested) dataclass field; nested dataclasses are flattened. `bases` ({name: instance},
    e.g. each preset's TrainConfig) makes the help show the defaults that really apply, per preset."""
    docs = field_docs(cls)
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        typ = hints[f.name]
        if dataclasses.is_dataclass(typ):
            add_dataclass_args(parser, typ, prefix, skip,
                               {k: getattr(v, f.name) for k, v in bases.items()} if bases else None)
            continue
        flag = "--" + (prefix + f.name).replace("_", "-")
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        values = {k: getattr(v, f.name) for k, v in (bases or {}).items()}
        if values and len(set(map(str, values.values()))) > 1:
            shown = "the preset's: " + ", ".join(f"{v} {k}" for k, v in values.items())
        else:
            shown = next(iter(values.values())) if values else default
        help_ = f"{docs.get(f.name, '')} (default: {shown})"
        if typ is bool:
            parser.add_argument(flag, dest=prefix + f.name, action=argparse.BooleanOptionalAction, default=None,
                                help=help_)
        else:
            base = typing.get_args(typ)[0] if typing.get_origin(typ) in (typing.Union, getattr(
                __import__("types"), "UnionType", None)) else typ
            parser.add_argument(flag, dest=prefix + f.name, type=base, default=None, help=help_)


def build_dataclass(cls, args: argparse.Namespace, prefix: str = "", base=None):
    """Instantiate `cls` from parsed args; unset flags keep the values of `base` (or the defaults)."""
    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        current = getattr(base, f.name) if base is not None else None
        if dataclasses.is_dataclass(hints[f.name]):
            values[f.name] = build_dataclass(hints[f.name], args, prefix, current)
            continue
        given = getattr(args, prefix + f.name, None)
        if given is not None:
            values[f.name] = given
        elif base is not None:
            values[f.name] = current
    return cls(**values)


# --------------------------------------------------------------------------- ranges, declared once with the field

@dataclasses.dataclass(frozen=True)
class Range:
    """The values a numeric setting accepts; `describe()` is the wording every error and `--help` uses."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple | None = None
    note: str = ""  # e.g. "0 = every item": what a boundary value means
    text: str = ""  # the wording, where the bounds' own would not read well (e.g. "in [0, 2**32)")
    limit: float | None = None  # a hard limit past which a run cannot fit a machine or never ends (issue 28.3)

    def ok(self, v) -> bool:
        if self.choices is not None:
            return v in self.choices
        return not ((self.ge is not None and v < self.ge) or (self.gt is not None and v <= self.gt)
                    or (self.le is not None and v > self.le) or (self.lt is not None and v >= self.lt))

    def refusal(self, v) -> str | None:
        """What is wrong with value `v` ("must be ... (got v)"), or None when it is accepted."""
        if not self.ok(v):
            return f"must be {self.describe()} (got {v})"
        if self.limit is not None and v > self.limit:
            return f"must be <= {self.limit:g}, clear-bench's hard limit (got {v})"
        return None

    def describe(self) -> str:
        if self.text:
            return self.text
        if self.choices is not None:
            return "one of " + ", ".join(map(str, self.choices))
        lo = f"[{self.ge:g}" if self.ge is not None else f"({self.gt:g}" if self.gt is not None else None
        hi = f"{self.le:g}]" if self.le is not None else f"{self.lt:g})" if self.lt is not None else None
        text = (f"in {lo}, {hi}" if lo and hi else f">= {self.ge:g}" if self.ge is not None
                else f"> {self.gt:g}" if self.gt is not None else f"<= {self.le:g}" if self.le is not None
                else f"< {self.lt:g}" if self.lt is not None else "finite")
        return f"{text} ({self.note})" if self.note else text


FIELD_DEFAULT = object()  # a `Flag`'s default: the field's own


@dataclasses.dataclass(frozen=True)
class Flag:
    """How a `setting` is given on the command line (`add_flags`).

    Attributes:
        help: the `--help` text (a function of nothing where it lists registered names, read when the parser is
            built); also the field's docstring entry unless `doc` is given.
        name: the option string (default: `--field-name`).
        default: the parser's default where it differs from the field's (e.g. None: "not given").
        metavar, action: as argparse's ("boolean-optional": `--flag / --no-flag`, None when neither is given);
            `type` defaults to the field's int / float annotation.
        doc: the docstring entry, where `help` is a function.
    """

    help: Any = ""
    name: str | None = None
    default: Any = FIELD_DEFAULT
    metavar: str | None = None
    action: Any = None
    type: Any = None
    doc: str = ""


def setting(default=dataclasses.MISSING, *, default_factory=dataclasses.MISSING, ge=None, gt=None, le=None, lt=None,
            choices=None, note: str = "", text: str = "", limit=None, flag: Flag | None = None, no_flag: str = ""):
    """A dataclass field that carries its accepted range, e.g. `beta: float = setting(0.1, gt=0)`.

    The range is checked by `check_settings` (once, before any work, for every track's configs and plug-ins
    alike) and shown by `--help` / `clear-bench ls`. Without `flag` the help text stays in the class docstring's
    `Attributes:` section (`field_docs`); with it, `flag` declares the field's `--flag` and help (`add_flags`).
    `no_flag` says why a field of a config with flags has none. Every int / float field is also required to be
    finite, range or not.
    """
    meta = {"range": Range(ge, gt, le, lt, tuple(choices) if choices is not None else None, note, text, limit)}
    if flag is not None:
        meta["flag"] = flag
    if no_flag:
        meta["no_flag"] = no_flag
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def field_range(f: dataclasses.Field) -> Range | None:
    return f.metadata.get("range") if f.metadata else None


def check_settings(cfg, name=lambda field: field, skip_none: bool = True) -> None:
    """Refuse, in one ClearBenchError line, a setting of dataclass `cfg` that is not finite or out of its range.

    `name(field)` spells the setting as the user gave it (e.g. `lambda f: f"--method-arg {f}"`); nested dataclass
    fields are checked too. None means "unset" and is skipped unless `skip_none` is False.
    """
    import math

    from .errors import ClearBenchError

    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            check_settings(v, name, skip_none)
            continue
        if v is None and skip_none:
            continue
        rng = field_range(f)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if not math.isfinite(v):
                raise ClearBenchError(f"{name(f.name)} must be a finite number (got {v})")
        elif rng is None or rng.choices is None:
            continue
        why = rng.refusal(v) if rng is not None else None
        if why:
            raise ClearBenchError(f"{name(f.name)} {why}")


# --------------------------------------------------------------------------- flags, declared once with the field

def field_flag(f: dataclasses.Field) -> Flag | None:
    return f.metadata.get("flag") if f.metadata else None


def flag_name(f: dataclasses.Field) -> str:
    """`--lora-r` of field `lora_r` (or the name its `Flag` gives)."""
    flag = field_flag(f)
    return (flag and flag.name) or "--" + f.name.replace("_", "-")


def flag_dest(f: dataclasses.Field) -> str:
    """The `argparse.Namespace` attribute of the field's flag (`--method-arg`: method_arg)."""
    return flag_name(f).lstrip("-").replace("-", "_")


def _flag_type(annotation):
    """int or float for an `int` / `float` / `int | None` / `float | None` field (argparse's str otherwise)."""
    types = set(typing.get_args(annotation) or (annotation,)) - {type(None)}
    return types.pop() if len(types) == 1 and types <= {int, float} else None


def add_flags(parser: argparse.ArgumentParser, cls, names) -> None:
    """One `--flag` per field of `cls` in `names` (in that order), from its `Flag`: name, type (the field's int /
    float annotation), default (the field's, unless the flag gives its own), help, metavar, action."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    for name in names:
        f = fields[name]
        flag = field_flag(f)
        if flag is None:
            raise TypeError(f"{cls.__name__}.{name} declares no flag")
        if flag.default is not FIELD_DEFAULT:
            default = flag.default
        else:
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        kw = {"default": default, "help": flag.help() if callable(flag.help) else flag.help}
        if flag.metavar is not None:
            kw["metavar"] = flag.metavar
        if flag.action is not None:
            kw["action"] = argparse.BooleanOptionalAction if flag.action == "boolean-optional" else flag.action
        elif (flag.type or _flag_type(hints[name])) is not None:
            kw["type"] = flag.type or _flag_type(hints[name])
        parser.add_argument(flag_name(f), **kw)


def config_from_flags(cls, args: argparse.Namespace, **given):
    """`cls` from the parsed flags of its fields (`given` overrides those a command converts first, e.g. a
    `--method-arg` list to a mapping); fields without a flag keep their defaults."""
    values = {f.name: getattr(args, flag_dest(f)) for f in dataclasses.fields(cls) if field_flag(f) is not None}
    return cls(**{**values, **given})


def field_rules(*classes) -> dict[str, Range]:
    """{flag dest: Range} of the fields of `classes` that declare a flag with a range or limit (`cli.check_flags`
    checks every command's flags of those names with them)."""
    return {flag_dest(f): field_range(f) for cls in classes for f in dataclasses.fields(cls)
            if field_flag(f) is not None and field_range(f) is not None and field_range(f) != Range()}


def attributes_doc(cls) -> str:
    """The `Attributes:` section of `cls`'s docstring (indented as a class docstring's body), from its fields'
    `Flag` help (or `no_flag` reason), flag, range and hard limit: `field_docs` reads it back."""
    lines = ["", "    Attributes:"]
    for f in dataclasses.fields(cls):
        flag, rng = field_flag(f), field_range(f)
        text = (flag.doc or (flag.help if isinstance(flag.help, str) else "")) if flag else ""
        facts = ([f"`{flag_name(f)}`"] if flag else []) + ([rng.describe()] if rng and rng != Range() else []) \
            + ([f"hard limit {rng.limit:g}"] if rng and rng.limit is not None else [])
        text = (text or f.metadata.get("no_flag", "")).replace("%%", "%")
        lines.append(f"        {f.name}: {text}" + (f" [{'; '.join(facts)}]" if facts else ""))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- KEY=VALUE strings to a config

def parse_bool(raw) -> bool:
    """'1/true/yes/on' or '0/false/no/off' (any case); anything else is a ValueError (a typo must not read as
    False)."""
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def build_config(cfg_cls, args: dict, owner: str, defaults: dict | None = None):
    """`cfg_cls` with `defaults` (typed values, for the fields it has; e.g. a preset's) then `args` (KEY=VALUE
    strings of `--method-arg`; an unknown key fails) over its defaults, its ranges checked (`check_settings`).
    `owner` names it in the one-line errors, e.g. "method 'ga'"."""
    from .errors import ClearBenchError

    if not dataclasses.is_dataclass(cfg_cls):
        raise ClearBenchError(f"{owner}: its Config ({cfg_cls!r}) must be a dataclass")
    known = [f.name for f in dataclasses.fields(cfg_cls)]
    values = {k: v for k, v in (defaults or {}).items() if k in known}
    blank = cfg_cls()
    for key, raw in args.items():
        if key not in known:
            raise ClearBenchError(f"{owner} has no hyper-parameter '{key}'; it has: {', '.join(known) or 'none'}")
        typ = type(getattr(blank, key))
        try:
            values[key] = parse_bool(raw) if typ is bool else typ(raw)
        except (TypeError, ValueError):
            raise ClearBenchError(f"{owner}: {key}={raw!r} is not a valid {typ.__name__}"
                                  f"{' (true/false)' if typ is bool else ''}") from None
    cfg = cfg_cls(**values)
    check_settings(cfg, name=lambda f: f"--method-arg {f}")
    return cfg
