"""Submission records: one JSON per run, self-describing and tamper-evident.

A record holds the method and every hyper-parameter, a hash of the whole configuration, the seed,
fingerprints of the data and of the models (with a checksum of their weights), library versions, the
machine (CPU / GPU model, thread count), and every metric with its direction (finite, or null).
`record_hash` is the SHA-256 of the canonical JSON of everything else: editing a
number without recomputing it makes the record invalid, and `load_record` says so.

A record names no path of the machine that made it (`portable`): a local data folder is written relative to the
clear-bench cache (`<cache>/...`) or to the working folder, else by its last component (`<local>/NAME`); the data
fingerprints beside it identify the content.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

from ..errors import ClearBenchError
from ..utils import atomic_write_json

SCHEMA = "clear-bench/submission/v1"
REQUIRED = {"schema": str, "method": str, "modality": str, "forget": int, "seed": int, "config": dict,
            "config_hash": str, "data": dict, "model": dict, "versions": dict, "metrics": dict,
            "record_hash": str}


def _canonical(record: dict) -> bytes:
    body = {k: v for k, v in record.items() if k != "record_hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def record_hash(record: dict) -> str:
    return hashlib.sha256(_canonical(record)).hexdigest()


def portable(value: Any, cwd: Path | None = None) -> Any:
    """`value` with every absolute filesystem path in it (strings, at any depth) made machine-independent:
    `<cache>/REL` under the clear-bench cache, REL under the working folder, else `<local>/NAME`."""
    if isinstance(value, dict):
        return {k: portable(v, cwd) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [portable(v, cwd) for v in value]
    if not isinstance(value, str) or not os.path.isabs(value) or "\n" in value:
        return value
    from ..data.demo import cache_dir

    path = Path(os.path.normpath(value))
    for root, prefix in ((cache_dir(), "<cache>"), (cwd or Path.cwd(), None)):
        try:
            rel = path.relative_to(Path(os.path.normpath(os.path.abspath(root))))
        except ValueError:
            continue
        return (f"{prefix}/{rel.as_posix()}" if prefix else rel.as_posix() or ".")
    return f"<local>/{path.name}"


def make_record(*, method: str, modality: str, forget: int, seed: int, config: dict, data: dict, model: dict,
                versions: dict, metrics: dict, efficiency: dict | None = None, label: str | None = None,
                track: str = "multimodal", reference: dict | None = None, hardware: dict | None = None,
                memorisation: dict | None = None, sequence: list | None = None) -> dict:
    """A complete record; `metrics` maps keys to summary entries (value, direction, higher_is_better, role).

    `track`: the leaderboard it belongs to (multimodal, text, visual). `reference`: the values of the models it
    is judged against, {"target": {key: value}, "gold": {key: value}} (the leaderboard marks a run whose retain
    score collapsed relative to its target). `hardware` (`utils.hardware()`: CPU / GPU model, threads) is the
    machine's: recorded, since CPU float sums move with it. `memorisation`: the gate's figures
    (`eval/memorisation.py`: per forget task, the fraction of items target and gold answer, and their margin).
    `sequence`: the requests of `clear-eval --sequence` (`sequence.py`), each with its metrics and those of the
    earlier forget sets; the record's own metrics are the last request's."""
    from ..utils import stable_hash

    config, data, model, efficiency, hardware = (portable(x) for x in (config, data, model, efficiency or {},
                                                                       hardware or {}))
    record = {
        "schema": SCHEMA, "track": track, "label": label or method, "method": method, "modality": modality,
        "forget": forget,
        "seed": seed, "config": config, "config_hash": stable_hash(config, n=32), "data": data, "model": model,
        "versions": versions,
        "metrics": {k: {f: v.get(f) for f in ("value", "direction", "higher_is_better", "role", "ideal")}
                    for k, v in metrics.items()},
        "efficiency": efficiency,
        "reference": reference or {}, "hardware": hardware,
        **({"memorisation": memorisation} if memorisation is not None else {}),
        **({"sequence": sequence} if sequence is not None else {}),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    record["record_hash"] = record_hash(record)
    return record


def reference_values(target_summary: dict, gold_summary: dict) -> dict:
    """The `reference` block of a record: every metric value of the target and of the gold model's summary."""
    return {name: {k: e["value"] for k, e in summary["metrics"].items()}
            for name, summary in (("target", target_summary), ("gold", gold_summary))}


def metric_bounds(key: str, track: str | None) -> tuple[float | None, float | None]:
    """The registered (low, high) of a record's metric `key` ("task/metric" or "metric") on its track; open if
    unregistered."""
    from ..tracks import TRACKS, get_track

    return get_track(track if track in TRACKS else "multimodal").metric_bounds(key.rsplit("/", 1)[-1])


def _check_value(where: str, what: str, key: str, v: Any, track: str | None) -> None:
    if v is None:
        return
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        raise ClearBenchError(f"{where}: {what} '{key}' has a non-numeric value {v!r}")
    if not math.isfinite(v):  # json reads NaN / Infinity; a ranking cannot use them
        raise ClearBenchError(f"{where}: {what} '{key}' has a non-finite value {v!r} (a metric that could not "
                              "be computed is null)")
    low, high = metric_bounds(key, track)
    if (low is not None and v < low - 1e-9) or (high is not None and v > high + 1e-9):
        span = f"[{'-inf' if low is None else f'{low:g}'}, {'inf' if high is None else f'{high:g}'}]"
        raise ClearBenchError(f"{where}: {what} '{key}' = {v!r} is outside its range {span}: the record was not "
                              "written by a correct run")


def validate_record(record: Any, where: str = "record") -> dict:
    """Check a record's shape, values and hash; raise a one-line ClearBenchError naming the problem."""
    if not isinstance(record, dict):
        raise ClearBenchError(f"{where}: not a JSON object")
    for key, typ in REQUIRED.items():
        if key not in record:
            raise ClearBenchError(f"{where}: malformed record, missing '{key}'")
        if not isinstance(record[key], typ) or (typ is int and isinstance(record[key], bool)):
            raise ClearBenchError(f"{where}: malformed record, '{key}' should be {typ.__name__}")
    if record["schema"] != SCHEMA:
        raise ClearBenchError(f"{where}: unknown schema '{record['schema']}' (expected {SCHEMA})")
    for key, entry in record["metrics"].items():
        if not isinstance(entry, dict) or "value" not in entry:
            raise ClearBenchError(f"{where}: malformed metric '{key}'")
        _check_value(where, "metric", key, entry["value"], record.get("track"))
    reference = record.get("reference") or {}
    if not isinstance(reference, dict):
        raise ClearBenchError(f"{where}: malformed record, 'reference' should be an object")
    for model, values in reference.items():  # target and gold: the rows a board compares against
        if not isinstance(values, dict):
            raise ClearBenchError(f"{where}: malformed record, reference '{model}' should be an object")
        for key, v in values.items():
            _check_value(where, f"reference {model} metric", key, v, record.get("track"))
    for key, v in (record.get("efficiency") or {}).items():
        if isinstance(v, float) and not math.isfinite(v):
            raise ClearBenchError(f"{where}: efficiency '{key}' has a non-finite value {v!r}")
    if record_hash(record) != record["record_hash"]:
        raise ClearBenchError(f"{where}: record_hash does not match its content (the record was edited after "
                              "it was written)")
    return record


def write_record(path: str | Path, record: dict) -> Path:
    validate_record(record, str(path))
    return atomic_write_json(path, record)


def load_record(path: str | Path) -> dict:
    path = Path(path)
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise ClearBenchError(f"{path}: no such record") from None
    except IsADirectoryError:
        raise ClearBenchError(f"{path} is a folder; pass the record in it ({path / 'submission.json'})") from None
    except OSError as e:
        raise ClearBenchError(f"{path}: cannot read the record ({e.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ClearBenchError(f"{path}: not valid JSON ({e})") from None
    return validate_record(record, str(path))
