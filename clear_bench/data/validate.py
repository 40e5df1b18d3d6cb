"""`clear-bench validate`: check every config the benchmark needs before anyone spends GPU hours."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ClearBenchError
from .schema import CLEAR_SCHEMAS, OPTIONAL_CONFIGS, TOFU_SCHEMAS


@dataclass
class ConfigReport:
    dataset: str
    config: str
    rows: int = 0
    persons: int | None = None
    images: int = 0
    problem: str | None = None
    note: str | None = None


@dataclass
class ValidationReport:
    source: str
    configs: list[ConfigReport] = field(default_factory=list)

    @property
    def problems(self) -> list[ConfigReport]:
        return [c for c in self.configs if c.problem]

    def render(self) -> str:
        lines = [f"clear-bench validate: {self.source}", "",
                 f"{'dataset':7} {'config':22} {'rows':>6} {'persons':>7} {'images':>6}  status"]
        for c in self.configs:
            persons = "-" if c.persons is None else str(c.persons)
            status = f"PROBLEM: {c.problem}" if c.problem else (c.note or "ok")
            lines.append(f"{c.dataset:7} {c.config:22} {c.rows:>6} {persons:>7} {c.images:>6}  {status}")
        n = len(self.problems)
        lines += ["", f"{len(self.configs)} configs checked, {n} problem{'s' if n != 1 else ''}"
                  + ("" if n else ": ready to run")]
        return "\n".join(lines)


def validate_source(source, include_optional: bool = True) -> ValidationReport:
    """Load and check every CLEAR and TOFU config; collect problems instead of stopping at the first."""
    report = ValidationReport(f"CLEAR={source.clear}  TOFU={source.tofu}")
    for dataset, table in (("clear", CLEAR_SCHEMAS), ("tofu", TOFU_SCHEMAS)):
        for config in table:
            if config == "default":
                continue  # same as `full`
            entry = ConfigReport(dataset, config)
            try:
                ds = source.load(dataset, config)
                entry.rows = len(ds)
                for col in ("name", "author"):
                    if col in ds.column_names:
                        entry.persons = len({v for v in ds[col] if v})
                if "image" in ds.column_names:
                    import datasets

                    raw = ds.cast_column("image", datasets.Image(decode=False))
                    entry.images = sum(v is not None for v in raw["image"])
                if entry.rows == 0:
                    entry.problem = "no rows"
            except ClearBenchError as e:
                if config in OPTIONAL_CONFIGS and "missing config" in str(e):
                    if include_optional:
                        entry.note = "absent (optional: only membership-inference metrics need it)"
                        report.configs.append(entry)
                    continue
                entry.problem = str(e)
            report.configs.append(entry)
    return report
