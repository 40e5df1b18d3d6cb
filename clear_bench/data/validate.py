"""`clear-bench validate`: check every config the benchmark needs before anyone spends GPU hours.

Every config is read the way training and evaluation will read it: every image decoded, every string and
list of strings read, every row checked against the schema's row rules. Every problem of every config is
reported (not only the first), each naming the config, the row and the column.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ClearBenchError, HubUnreachableError
from .schema import (CLEAR_SCHEMAS, IMAGE, LIST, OPTIONAL_CONFIGS, STR, TOFU_SCHEMAS, schema_for, validate_columns,
                     validate_rows)

SHOWN = 10  # problems listed per config (the count says how many more)


@dataclass
class ConfigReport:
    dataset: str
    config: str
    rows: int = 0
    persons: int | None = None
    images: int = 0
    problems: list[str] = field(default_factory=list)
    note: str | None = None

    @property
    def problem(self) -> str | None:
        return self.problems[0] if self.problems else None


@dataclass
class ValidationReport:
    source: str
    configs: list[ConfigReport] = field(default_factory=list)

    @property
    def problems(self) -> list[ConfigReport]:
        return [c for c in self.configs if c.problems]

    def render(self) -> str:
        lines = [f"clear-bench validate: {self.source}", "",
                 f"{'dataset':7} {'config':22} {'rows':>6} {'persons':>7} {'images':>6}  status"]
        for c in self.configs:
            persons = "-" if c.persons is None else str(c.persons)
            n = len(c.problems)
            status = (f"PROBLEM: {c.problems[0]}" if n == 1 else f"{n} PROBLEMS:") if n else (c.note or "ok")
            lines.append(f"{c.dataset:7} {c.config:22} {c.rows:>6} {persons:>7} {c.images:>6}  {status}")
            if n > 1:
                lines += [f"    - {p}" for p in c.problems[:SHOWN]]
                if n > SHOWN:
                    lines.append(f"    ... and {n - SHOWN} more")
        n = sum(len(c.problems) for c in self.configs)
        bad = len(self.problems)
        lines += ["", f"{len(self.configs)} configs checked, {n} problem{'s' if n != 1 else ''}"
                  + (f" in {bad} config{'s' if bad != 1 else ''}" if n else ": ready to run")]
        return "\n".join(lines)


def _decode_image(cell) -> None:
    import io

    from PIL import Image

    data = cell.get("bytes")
    image = Image.open(io.BytesIO(data)) if data else Image.open(cell["path"])
    image.load()
    image.convert("RGB")


def check_cells(table, dataset: str, config: str) -> tuple[list[str], list[dict], int]:
    """Read every cell of a config's Arrow table the way the tasks will: (problems, readable rows, images).

    A row with an unreadable cell (an image that does not decode, a string that is not valid UTF-8) is
    reported by row and column and left out of the returned rows (which then go through the schema's row rules).
    """
    schema = schema_for(dataset, config)
    kinds = {**schema.required, **schema.optional}
    problems, rows, images = [], [], 0
    columns = {name: table.column(name) for name in table.column_names}
    for i in range(table.num_rows):
        row, ok = {"__row__": i}, True
        for name, column in columns.items():
            kind = kinds.get(name)
            try:
                value = column[i].as_py()
                if kind == IMAGE and value is not None:
                    _decode_image(value)
                    images += 1
                elif kind == STR and value is not None and not isinstance(value, str):
                    raise TypeError(f"{type(value).__name__} where a string belongs")
                elif kind == LIST and value is not None and not all(isinstance(v, str) for v in value):
                    raise TypeError("an item that is not a string")
            except Exception as e:  # noqa: BLE001 (any failure to read a cell is a problem of that cell)
                what = "image cannot be decoded" if kind == IMAGE else "cannot be read"
                reason = "not valid UTF-8" if isinstance(e, UnicodeDecodeError) else f"{type(e).__name__}: {e}"
                problems.append(f"{config} row {i}, column '{name}': {what} ({str(reason)[:120]})")
                ok = False
                continue
            row[name] = value
        if ok:
            rows.append(row)
    return problems, rows, images


def _row_problems(source: str, dataset: str, config: str, rows: list[dict]) -> list[str]:
    """The schema's row rules (`validate_rows`) with every failing row reported, not only the first: after a
    failure the check continues from the next row. Rows carry their index in the config as "__row__"."""
    import re

    problems, start = [], 0
    while start < len(rows):
        try:
            validate_rows(source, config, rows[start:], dataset=dataset)
            break
        except ClearBenchError as e:
            m = re.search(r"row (\d+)", str(e))
            if m is None:  # a column-wide problem: one report is enough
                problems.append(str(e))
                break
            failed = start + int(m.group(1))
            problems.append(str(e).replace(f"row {m.group(1)}", f"row {rows[failed]['__row__']}", 1))
            start = failed + 1
    return problems


def validate_source(source, include_optional: bool = True) -> ValidationReport:
    """Load and check every CLEAR and TOFU config; collect every problem instead of stopping at the first."""
    report = ValidationReport(f"CLEAR={source.clear}  TOFU={source.tofu}")
    for dataset, table in (("clear", CLEAR_SCHEMAS), ("tofu", TOFU_SCHEMAS)):
        for config in table:
            if config == "default":
                continue  # same as `full`
            entry = ConfigReport(dataset, config)
            try:
                ds = source.load(dataset, config, validate=False)
                validate_columns(source.name(dataset), dataset, config, ds.features)
            except HubUnreachableError as e:  # every config would say the same: say it once (issue 27.4)
                raise HubUnreachableError(str(e).replace(f" ({config})", "")) from None
            except ClearBenchError as e:
                if config in OPTIONAL_CONFIGS and "missing config" in str(e):
                    if include_optional:
                        entry.note = "absent (optional: only membership-inference metrics need it)"
                        report.configs.append(entry)
                    continue
                entry.problems.append(str(e))
                report.configs.append(entry)
                continue
            entry.rows = len(ds)
            if entry.rows == 0:
                entry.problems.append("no rows")
            cell_problems, rows, entry.images = check_cells(ds.data.table, dataset, config)
            entry.problems += cell_problems
            entry.problems += _row_problems(source.name(dataset), dataset, config, rows)
            for col in ("name", "author"):
                if col in ds.column_names:
                    entry.persons = len({r.get(col) for r in rows if r.get(col)})
            report.configs.append(entry)
    return report
