"""Stage 9, publish: the Hub-layout folder (parquet per config, dataset cards, manifest), and push.

Layout: `clear/<config>/train-00000-of-00001.parquet` (`default` in `clear/data/`), `clear/README.md`,
`tofu/<config>/...`, `tofu/README.md`, `faces/` (each person's matched face and `faces/persons.json`, name ->
file: what the identity audit compares the scene images with), `manifest.json`. Written in a temporary sibling folder and
renamed, so a crash never leaves a half-written dataset.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from string import Template
from typing import Any

from ..data.schema import CLEAR_SCHEMAS, IMAGE, LIST, TOFU_SCHEMAS
from ..errors import ClearBenchError
from ..utils import atomic_dir, atomic_write_json, file_sha256, library_versions
from .records import TableRow

log = logging.getLogger(__name__)
PARQUET = "train-00000-of-00001.parquet"
# cards/ at the top of the repository, reached through the package's resources/cards link (so wheels carry it)
CARD_TEMPLATE = Path(__file__).resolve().parents[1] / "resources" / "cards" / "dataset_card.md"
TOKEN_VARS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")


def config_folder(config: str) -> str:
    return "data" if config == "default" else config


def _feature(kind: str):
    from datasets import Image, List, Value

    return Image() if kind == IMAGE else List(Value("string")) if kind == LIST else Value("string")


def write_config(rows: list[dict], schema, path: Path, work_dir: Path) -> int:
    """Write one config's rows as parquet through `datasets` (Image and string-list features)."""
    from datasets import Dataset, Features

    kinds = {**schema.required, **schema.optional}
    columns = [c for c in kinds if c in rows[0]]
    extra = set(rows[0]) - set(columns)
    if extra:
        raise ValueError(f"{path.parent.name}: columns {sorted(extra)} are not in the schema")
    data: dict[str, list[Any]] = {c: [] for c in columns}
    for row in rows:
        for c in columns:
            v = row[c]
            if kinds[c] == IMAGE and v is not None:
                v = {"bytes": (work_dir / v).read_bytes(), "path": Path(v).name}
            data[c].append(v)
    ds = Dataset.from_dict(data, features=Features({c: _feature(kinds[c]) for c in columns}))
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.to_parquet(str(path))
    return len(ds)


def _card(pretty: str, description: str, counts: dict[str, int], columns: dict[str, list[str]], persons: str,
          generation: str, tags: list[str]) -> str:
    template = Template(CARD_TEMPLATE.read_text())
    configs = "\n".join(f"- config_name: {c}\n  data_files:\n  - split: train\n    path: \"{config_folder(c)}/train-*\""
                        for c in counts)
    table = "\n".join(f"| `{c}` | {n} | {', '.join(columns[c])} |" for c, n in counts.items())
    return template.substitute(license="mit", pretty_name=pretty, description=description, configs=configs,
                               table=table, persons=persons, generation=generation,
                               tags="\n".join(f"- {t}" for t in tags))


def _persons_text(persons: dict[str, list[str]]) -> str:
    n = len(persons.get("forget01", [])) + len(persons.get("retain99", []))
    sizes = "/".join(str(len(persons.get(f"forget{p:02d}", []))) for p in (1, 5, 10))
    lines = [f"`forget01/05/10` are the last {sizes} of the {n} authors in order: max(1, round(N x NN / 100)) "
             "persons, TOFU's rule (2/10/20 of 200). `retainNN` holds everyone else; `retain_perturbed` holds "
             "retain persons outside `forget10`. Holdout persons are never trained on: their rows are only in "
             "`holdout_perturbed` (their names may appear among other rows' wrong answers). In "
             "`real_faces`, `options` lists the answer in some rows and not in others.", ""]
    for split, names in persons.items():
        shown = ", ".join(names[:12]) + (f", ... ({len(names)} in all)" if len(names) > 12 else "")
        lines.append(f"- `{split}`: {shown or 'nobody'}")
    return "\n".join(lines)


def publish(out_dir: str | os.PathLike, tables: dict[str, list[TableRow]], work_dir: Path,
            persons: dict[str, list[str]], info: dict[str, Any], progress=None,
            faces: dict[str, str] | None = None) -> Path:
    """Write the Hub-layout dataset to `out_dir` atomically; return `out_dir`.

    `tables` maps "clear"/"tofu" to rows; `persons` maps split names to person names (for the
    card); `info` (preset, seed, config, stage fingerprints) goes into the manifest and the cards; `faces` maps
    each person's name to their matched face (a work-relative path).
    """
    from ..data.sources import quiet_datasets

    out_dir = Path(out_dir)
    bar = progress or (lambda it, **kw: it)
    counts: dict[str, dict[str, int]] = {}
    with quiet_datasets():  # one bar per config would drown ours
        _write_all(out_dir, tables, work_dir, persons, info, bar, counts, faces or {})
    log.info("published %s", out_dir)
    return out_dir


def _write_faces(tmp: Path, work_dir: Path, faces: dict[str, str]) -> None:
    """faces/<file>.png (copied from the faces stage) and faces/persons.json: {name: "faces/<file>.png"}."""
    if not faces:
        return
    (tmp / "faces").mkdir()
    index = {}
    for name, rel in sorted(faces.items()):
        dest = f"faces/{Path(rel).name}"
        (tmp / dest).write_bytes((work_dir / rel).read_bytes())
        index[name] = dest
    atomic_write_json(tmp / FACES_INDEX, index)


FACES_INDEX = "faces/persons.json"


def _write_all(out_dir, tables, work_dir, persons, info, bar, counts, faces) -> None:
    with atomic_dir(out_dir, marker="manifest.json") as tmp:
        _write_faces(tmp, work_dir, faces)
        for dataset, schemas in (("clear", CLEAR_SCHEMAS), ("tofu", TOFU_SCHEMAS)):
            by_config: dict[str, list[dict]] = {}
            for row in tables[dataset]:
                by_config.setdefault(row.config, []).append(row.values)
            counts[dataset], columns = {}, {}
            for config, rows in bar(list(by_config.items()), desc=f"publish {dataset}"):
                path = tmp / dataset / config_folder(config) / PARQUET
                counts[dataset][config] = write_config(rows, schemas[config], path, work_dir)
                columns[config] = [c for c in {**schemas[config].required, **schemas[config].optional} if c in rows[0]]
            backends = ", ".join(f"{stage}: `{name}`" for stage, name in info.get("backends", {}).items())
            gen = (f"Generated by clear-bench (preset `{info.get('preset')}`, seed {info.get('seed')}). "
                   f"Backends: {backends}. See `manifest.json` for versions and checksums.")
            if dataset == "clear":
                text = _card("CLEAR (generated)", "Multimodal character-unlearning data in the layout of "
                             "`therem/CLEAR`: images of fictitious persons with captions that name them, plus "
                             "TOFU text rows in the `+tofu` configs.", counts[dataset], columns,
                             _persons_text(persons), gen, ["unlearning", "multimodal", "synthetic"])
            else:
                text = _card("TOFU (generated)", "Question-answer pairs about the same fictitious persons, in the "
                             "layout of `locuslab/TOFU`.", counts[dataset], columns, _persons_text(persons), gen,
                             ["unlearning", "synthetic"])
            (tmp / dataset / "README.md").write_text(text)
        files = {p.relative_to(tmp).as_posix(): file_sha256(p)
                 for p in sorted([*tmp.rglob("*.parquet"), *tmp.glob("faces/*.png")])}
        atomic_write_json(tmp / "manifest.json", {**info, "libraries": library_versions(), "counts": counts,
                                                  "persons": persons, "sha256": files})


def check_card_template() -> None:
    """Fail early when the dataset-card template is missing (it lives in the source tree's cards/)."""
    if not CARD_TEMPLATE.is_file():
        raise ClearBenchError(f"dataset card template {CARD_TEMPLATE} is missing: reinstall clear-bench "
                              "(the package ships cards/dataset_card.md there)")


def token_from_env() -> str:
    """The Hub token from HF_TOKEN / HUGGING_FACE_HUB_TOKEN, else from a stored `hf auth login`; the error never
    shows it."""
    from huggingface_hub import get_token

    for var in TOKEN_VARS:
        if os.environ.get(var):
            return os.environ[var]
    token = get_token()
    if token:
        return token
    raise ClearBenchError(f"--push-to-hub needs a Hub token: run `hf auth login`, or set {' or '.join(TOKEN_VARS)}")


def push_to_hub(out_dir: str | os.PathLike, repo: str, private: bool = False, api=None) -> str:
    """Upload `out_dir/clear` (configs, card) and the manifest to dataset repo `repo`; return its URL."""
    from huggingface_hub import HfApi

    out_dir = Path(out_dir)
    if not (out_dir / "clear").is_dir():
        raise ClearBenchError(f"{out_dir} has no clear/ folder: publish the dataset before pushing it")
    token = token_from_env()
    api = api or HfApi()
    api.create_repo(repo, repo_type="dataset", private=private, exist_ok=True, token=token)
    api.upload_folder(folder_path=str(out_dir / "clear"), repo_id=repo, repo_type="dataset", token=token,
                      commit_message="Upload CLEAR configs generated by clear-bench")
    api.upload_file(path_or_fileobj=str(out_dir / "manifest.json"), path_in_repo="manifest.json", repo_id=repo,
                    repo_type="dataset", token=token, commit_message="Add generation manifest")
    log.info("pushed %s to the Hub dataset %s", out_dir, repo)
    return f"https://huggingface.co/datasets/{repo}"
