"""Where CLEAR and TOFU configs come from: a Hub id, a local copy in the Hub layout, or a saved dataset.

This module alone knows the Hub folder layout. A local copy is either
- a snapshot of one Hub dataset repo, as `hf download therem/CLEAR --repo-type dataset --local-dir CLEAR`
  writes it: README.md whose YAML `configs:` list maps each config to its files, usually one folder per
  config (`forget10_perturbed/train-*.parquet`) and `data/` for the default config; or
- a parent folder holding `clear/` and `tofu/`, each such a snapshot (what `clear-generate` writes).
A config folder may also hold `datasets.save_to_disk` output.

Everything downstream sees `datasets.Dataset` objects validated against `schema.py`, then `Sample`s.
"""
from __future__ import annotations

import logging
import os
import socket
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import ClearBenchError, HubUnreachableError, SchemaError
from ..utils import looks_like_path
from .schema import (CLEAR_SCHEMAS, OPTIONAL_CONFIGS, TOFU_SCHEMAS, check_config_name, schema_for, validate_columns,
                     validate_rows)

# --data / --tofu of every command that reads data (`commands.common.add_data_args`, `job.JobConfig`)
TOFU_HELP = "TOFU source: a Hub id or a local copy of locuslab/TOFU (default: the --data folder's tofu/, " \
            "else locuslab/TOFU)"
DATA_HELP = ("CLEAR source: a Hub id, a local copy of therem/CLEAR (as `hf download therem/CLEAR --repo-type dataset "
             "--local-dir DIR` writes it; give TOFU's with --tofu), a folder holding clear/ and tofu/, or 'demo'")

log = logging.getLogger(__name__)

DEFAULT_CLEAR = "therem/CLEAR"
DEFAULT_TOFU = "locuslab/TOFU"
HUB_IDS = {"clear": DEFAULT_CLEAR, "tofu": DEFAULT_TOFU}
OFFLINE_HINT = ("run the offline demo with `--preset demo`, or use local copies: `--data CLEAR_DIR --tofu TOFU_DIR` "
                "(each as `hf download REPO --repo-type dataset --local-dir DIR` writes it), or `--data DIR` "
                "holding clear/ and tofu/")
CARD = "README.md"
DATA_FILE_SUFFIXES = {".parquet": "parquet", ".json": "json", ".jsonl": "json"}
# Configs only one of the two repos has: they tell a snapshot of therem/CLEAR from one of locuslab/TOFU.
REPO_MARKERS = {"clear": frozenset(CLEAR_SCHEMAS) - frozenset(TOFU_SCHEMAS) - {"default"},
                "tofu": frozenset(TOFU_SCHEMAS) - frozenset(CLEAR_SCHEMAS)}


def hub_reachable(timeout: float = 3.0) -> bool:
    """A quick check before any Hub download, so that a machine without network fails at once."""
    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1":
        return False
    host = os.environ.get("HF_ENDPOINT", "https://huggingface.co").split("://")[-1].split("/")[0]
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------- the Hub folder layout


def card_configs(root: Path) -> dict[str, list[str]]:
    """Config name -> data-file patterns (train split) from the YAML `configs:` list of `root`'s README.md,
    as the Hub writes it; {} when there is no card or it lists no configs."""
    card = root / CARD
    if not card.is_file():
        return {}
    text = card.read_text(encoding="utf-8", errors="replace")
    if not text.startswith("---"):
        return {}
    import yaml

    try:
        meta = yaml.safe_load(text.split("---", 2)[1]) or {}
    except (yaml.YAMLError, IndexError):
        raise ClearBenchError(f"{card}: the YAML header cannot be parsed") from None
    configs = {}
    entries = meta.get("configs") if isinstance(meta, dict) else None
    for entry in entries or ():
        if not isinstance(entry, dict) or "config_name" not in entry:
            continue
        files = entry.get("data_files", [])
        if isinstance(files, (str, dict)):
            files = [files]
        patterns = []
        for f in files:
            if isinstance(f, str):
                patterns.append(f)
            elif isinstance(f, dict) and f.get("split", "train") == "train":
                paths = f.get("path", [])
                patterns += [paths] if isinstance(paths, str) else list(paths)
        configs[str(entry["config_name"])] = patterns
    return configs


def _config_folder(root: Path, config: str) -> Path | None:
    candidates = [root / config] + ([root / "data"] if config in ("default", "full") else [])
    for c in candidates:
        if c.is_dir():
            return c
    return None


def config_location(root: Path, config: str) -> Path | list[Path] | None:
    """Where `config` lives in the local copy `root`: its folder, the data files its card lists, or None."""
    folder = _config_folder(root, config)
    if folder is not None:
        return folder
    files = sorted({p for pattern in card_configs(root).get(config, ()) for p in root.glob(pattern) if p.is_file()})
    return files or None


def snapshot_configs(root: Path) -> set[str]:
    """The configs a local repo snapshot holds: those its card lists, and the known config folders."""
    known = set(CLEAR_SCHEMAS) | set(TOFU_SCHEMAS)
    folders = {p.name for p in root.iterdir() if p.is_dir() and p.name in known} if root.is_dir() else set()
    return set(card_configs(root)) | folders


def repo_of(root: Path) -> str | None:
    """"clear" or "tofu" when the snapshot at `root` holds a config only that repo has; else None."""
    configs = snapshot_configs(root)
    kinds = [k for k, markers in REPO_MARKERS.items() if configs & markers]
    return kinds[0] if len(kinds) == 1 else None


def _check_snapshot_of(path: Path, dataset: str, flag: str) -> None:
    """A one-line error when the snapshot at `path`, given for `dataset`, is a copy of the other repo."""
    other = repo_of(path)
    if other is not None and other != dataset:
        right = {"clear": "--data", "tofu": "--tofu"}[other]
        marker = sorted(snapshot_configs(path) & REPO_MARKERS[other])[0]
        raise ClearBenchError(f"{flag} {path} is a copy of {HUB_IDS[other]} (it has the config '{marker}'), not of "
                              f"{HUB_IDS[dataset]}: give it as {right}, and the {HUB_IDS[dataset]} copy as {flag}")


def _load_local(root: Path, config: str):
    import datasets

    where = config_location(root, config)
    if where is None:
        present = sorted(snapshot_configs(root)) or sorted(
            p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        raise SchemaError(f"{root}: missing config '{config}' (no folder {root / config} and no such entry in "
                          f"{CARD}; found {', '.join(present) or 'no config folders'})")
    if isinstance(where, list):
        return _load_files(root, config, where)
    folder = where
    if (folder / "state.json").exists() or (folder / "dataset_dict.json").exists():
        ds = datasets.load_from_disk(str(folder))
        if isinstance(ds, datasets.DatasetDict):
            if "train" not in ds:
                raise SchemaError(f"{folder}: saved dataset has no 'train' split (found {', '.join(ds)})")
            ds = ds["train"]
        return ds
    files = sorted(folder.rglob("*.parquet"))
    if not files:
        raise SchemaError(f"{root}: config '{config}' folder {folder} holds no parquet files")
    return _load_files(root, config, files)


def _load_files(root: Path, config: str, files: list[Path]):
    import datasets

    kinds = {DATA_FILE_SUFFIXES.get(p.suffix) for p in files}
    if len(kinds) != 1 or None in kinds:
        raise SchemaError(f"{root}: config '{config}' has data files of other kinds than one of "
                          f"{', '.join(DATA_FILE_SUFFIXES)}: {', '.join(p.name for p in files[:3])}")
    try:
        with quiet_datasets():  # a local config reads in milliseconds: no "Generating train split" bar per config
            return datasets.load_dataset(kinds.pop(), data_files={"train": [str(p) for p in files]}, split="train")
    except Exception as e:  # corrupt parquet, mismatched schemas between shards
        raise SchemaError(f"{root}: config '{config}' cannot be read: {type(e).__name__}: {str(e)[:200]}") from e


@contextmanager
def quiet_datasets():
    """No `datasets` progress bars inside the block; their previous state afterwards."""
    from datasets.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    was_disabled = are_progress_bars_disabled()
    disable_progress_bars()
    try:
        yield
    finally:
        if not was_disabled:
            enable_progress_bars()


def _load_hub(repo: str, config: str):
    import datasets

    if not hub_reachable():
        raise HubUnreachableError(f"cannot reach the Hugging Face Hub to download {repo} ({config}); there is no "
                                  f"local folder {repo} either; {OFFLINE_HINT}")
    try:
        return datasets.load_dataset(repo, config, split="train")
    except ValueError as e:
        if "config" in str(e).lower() or "BuilderConfig" in str(e):
            raise SchemaError(f"{repo}: missing config '{config}'") from e
        raise
    except (ConnectionError, OSError) as e:
        raise ClearBenchError(f"download of {repo} ({config}) failed: {type(e).__name__}; {OFFLINE_HINT}") from e


@dataclass(frozen=True)
class DataSource:
    """A pair of sources for the CLEAR and TOFU halves of the benchmark.

    Each is a Hub id (``therem/CLEAR``, ``locuslab/TOFU``) or a local snapshot of that repo in the
    Hub layout (see the module docstring).
    """

    clear: str = DEFAULT_CLEAR
    tofu: str = DEFAULT_TOFU

    @classmethod
    def resolve(cls, data: str | None = None, tofu: str | None = None, preset_data: str | None = None) -> "DataSource":
        """The source of a command's `--data` and `--tofu` (None: not given) under a preset whose data is
        `preset_data` (None: the Hub ids; "demo": the built-in demo data).

        `data`: a Hub id of CLEAR, a snapshot of therem/CLEAR, or a folder holding clear/ and tofu/ (the demo data:
        `presets.data_source`).
        `tofu`: a Hub id or snapshot of locuslab/TOFU; it replaces the TOFU half whatever `data` is.
        A snapshot of one repo given for the other is a one-line `ClearBenchError` saying which is which.
        """
        data = data or preset_data
        if data is None:
            source = cls()
        elif data == "demo":  # built by the generation pipeline, which the data layer does not import
            raise ClearBenchError("'demo' names the built-in demo data: resolve it with presets.data_source")
        else:
            source = cls.from_path(data)
        if tofu:
            source = cls(source.clear, cls._tofu_path(tofu))
        return source

    @classmethod
    def from_path(cls, path: str | os.PathLike) -> "DataSource":
        """A local folder holding `clear/` and `tofu/` (what `clear-generate` writes), a snapshot of the
        CLEAR repo (TOFU then stays on the Hub unless `--tofu` is given), or a Hub id of the CLEAR half."""
        p = Path(path).expanduser()
        if p.is_dir():
            clear, tofu = p / "clear", p / "tofu"
            if clear.is_dir() and tofu.is_dir():
                return cls(str(clear), str(tofu))
            if snapshot_configs(p):
                _check_snapshot_of(p, "clear", "--data")
                return cls(clear=str(p))
            raise ClearBenchError(f"data folder {p} is neither a copy of {DEFAULT_CLEAR} (no {CARD} with a `configs:` "
                                  "list, no config folders) nor a folder holding clear/ and tofu/")
        if looks_like_path(str(path)):
            raise ClearBenchError(f"data folder {p} does not exist; {OFFLINE_HINT}")
        return cls(clear=str(path))  # a Hub id ("owner/name")

    @staticmethod
    def _tofu_path(tofu: str) -> str:
        p = Path(tofu).expanduser()
        if p.is_dir():
            if snapshot_configs(p):
                _check_snapshot_of(p, "tofu", "--tofu")
            return str(p)
        if looks_like_path(tofu):
            raise ClearBenchError(f"TOFU folder {p} does not exist; {OFFLINE_HINT}")
        return tofu  # a Hub id

    def is_local(self, dataset: str) -> bool:
        return Path(getattr(self, dataset)).is_dir()

    def name(self, dataset: str) -> str:
        return getattr(self, dataset)

    def has_config(self, dataset: str, config: str) -> bool:
        """Whether the source holds `config` of `dataset` ("clear" or "tofu"), without downloading anything.

        A local copy holds the configs it has a folder or a card entry for; a Hub source is assumed to hold
        every published config, i.e. all but the optional ones (holdout persons are not on therem/CLEAR).
        """
        if self.is_local(dataset):
            return config_location(Path(self.name(dataset)), config) is not None
        return config not in OPTIONAL_CONFIGS

    def load(self, dataset: str, config: str, validate: bool = True):
        """Load one config's `train` split as a `datasets.Dataset`, checked against its schema."""
        if dataset not in ("clear", "tofu"):
            raise ValueError(f"dataset must be 'clear' or 'tofu', not {dataset!r}")
        check_config_name(config)
        schema_for(dataset, config)  # unknown config names fail here, before any I/O
        return _load_cached(self.name(dataset), dataset, config, validate)


@lru_cache(maxsize=64)
def _load_cached(src: str, dataset: str, config: str, validate: bool):
    root = Path(src)
    ds = _load_local(root, config) if root.is_dir() else _load_hub(src, config)
    if validate:
        validate_dataset(src, dataset, config, ds)
    return ds


def validate_dataset(source: str, dataset: str, config: str, ds) -> None:
    """Schema and row checks without decoding images."""
    validate_columns(source, dataset, config, ds.features)
    ds_raw = ds.cast_column("image", _undecoded_image()) if "image" in ds.features else ds
    validate_rows(source, config, ds_raw, dataset=dataset)


def _undecoded_image():
    import datasets

    return datasets.Image(decode=False)


def clear_cache() -> None:
    _load_cached.cache_clear()
