"""Column schema of every CLEAR and TOFU config (the
therem/CLEAR and locuslab/TOFU dataset cards on the Hugging Face Hub), and its validation.

A config's schema is data: required columns with their kind, optional columns, and which columns
may be null row by row (the `+tofu` mixed configs). Validation raises one-line `SchemaError`s that
name the source, the config and the column.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import SchemaError

# Column kinds: "image" (datasets Image feature / PIL), "str", "list[str]".
IMAGE, STR, LIST = "image", "str", "list[str]"

FORGET_SIZES = (1, 5, 10)
DEFAULT_FORGET = 10
FORGET_HELP = f"forget-set size in percent: {', '.join(map(str, FORGET_SIZES))} (default: {DEFAULT_FORGET})"
RETAIN_OF = {1: 99, 5: 95, 10: 90}
# The forget stream of unlearning: text = TOFU forget QA, image = CLEAR forget image rows, both = forgetNN+tofu.
MODALITIES = ("text", "image", "both")


@dataclass(frozen=True)
class ConfigSchema:
    required: dict[str, str]
    optional: dict[str, str] = field(default_factory=dict)
    nullable: frozenset[str] = frozenset()  # columns that may be null in some rows
    doc: str = ""


_IMAGE_ROWS = ConfigSchema({"image": IMAGE, "caption": STR}, {"name": STR},
                           doc="image rows: image -> caption (name in most revisions)")
_PERTURBED = ConfigSchema(
    {"image": IMAGE, "caption": STR, "name": STR, "paraphrased_caption": STR,
     "perturbed_captions": LIST, "perturbed_names": LIST},
    doc="evaluation rows with a paraphrase and perturbed captions and names")
_MIXED = ConfigSchema(
    {"image": IMAGE, "caption": STR, "question": STR, "answer": STR}, {"name": STR},
    nullable=frozenset({"image", "caption", "question", "answer", "name"}),
    doc="either an image row (image, caption) or a TOFU text row (question, answer)")
_TOFU_QA = ConfigSchema({"question": STR, "answer": STR},
                        {"paraphrased_answer": STR, "perturbed_answer": LIST, "paraphrased_question": STR,
                         "author": STR})
_TOFU_PERTURBED = ConfigSchema({"question": STR, "answer": STR, "paraphrased_answer": STR,
                                "perturbed_answer": LIST},
                               {"paraphrased_question": STR, "author": STR})
_TOFU_OPTIONS = ConfigSchema({"question": STR, "answer": STR, "perturbed_answer": LIST},
                             {"paraphrased_answer": STR, "paraphrased_question": STR})

CLEAR_SCHEMAS: dict[str, ConfigSchema] = {
    "default": _IMAGE_ROWS, "full": _IMAGE_ROWS,
    **{f"forget{n:02d}": _IMAGE_ROWS for n in FORGET_SIZES},
    **{f"retain{RETAIN_OF[n]}": _IMAGE_ROWS for n in FORGET_SIZES},
    **{f"forget{n:02d}_perturbed": _PERTURBED for n in FORGET_SIZES},
    "retain_perturbed": _PERTURBED,
    "full+tofu": _MIXED,
    **{f"forget{n:02d}+tofu": _MIXED for n in FORGET_SIZES},
    **{f"retain{RETAIN_OF[n]}+tofu": _MIXED for n in FORGET_SIZES},
    "real_faces": ConfigSchema({"image": IMAGE, "answer": STR, "options": LIST}),
    "real_world": ConfigSchema({"image": IMAGE, "question": STR, "answer": STR, "options": LIST}, {"prompt": STR}),
    # Not on therem/CLEAR: persons never trained on, for membership inference (the demo data has it).
    "holdout_perturbed": _PERTURBED,
}

TOFU_SCHEMAS: dict[str, ConfigSchema] = {
    "full": _TOFU_QA,
    **{f"forget{n:02d}": _TOFU_QA for n in FORGET_SIZES},
    **{f"retain{RETAIN_OF[n]}": _TOFU_QA for n in FORGET_SIZES},
    **{f"forget{n:02d}_perturbed": _TOFU_PERTURBED for n in FORGET_SIZES},
    "retain_perturbed": _TOFU_PERTURBED,
    "real_authors_perturbed": _TOFU_OPTIONS,
    "world_facts_perturbed": _TOFU_OPTIONS,
    "holdout_perturbed": _TOFU_PERTURBED,
}

OPTIONAL_CONFIGS = frozenset({"holdout_perturbed", "default"})


def forget_configs(forget: int) -> dict[str, str]:
    """The config names a forget size (1, 5 or 10 %) uses."""
    check_forget(forget)
    f, r = f"forget{forget:02d}", f"retain{RETAIN_OF[forget]}"
    return {"forget": f, "retain": r, "forget_perturbed": f"{f}_perturbed", "forget_mixed": f"{f}+tofu",
            "retain_mixed": f"{r}+tofu"}


def check_forget(forget: int) -> int:
    """`forget` if it is a forget-set size (1, 5 or 10 %); else a one-line `SchemaError`."""
    if forget not in FORGET_SIZES:
        raise SchemaError(f"forget size {forget} is not one of {', '.join(map(str, FORGET_SIZES))} (percent)")
    return forget


def check_sequence(sizes) -> tuple[int, ...]:
    """`sizes` as a tuple if it is a strictly increasing run of two or more of the nested forget sizes (`clear-eval
    --sequence`); else a one-line `SchemaError`."""
    sizes = tuple(sizes)
    valid = ", ".join(map(str, FORGET_SIZES))
    shown = ",".join(map(str, sizes))
    if len(sizes) < 2:
        raise SchemaError(f"--sequence needs two or more forget sizes, e.g. 1,5,10 (got {shown}; one size is "
                          "--forget)")
    bad = [s for s in sizes if s not in FORGET_SIZES]
    if bad:
        raise SchemaError(f"--sequence {shown}: {bad[0]} is not a forget size (valid: {valid}, the nested sets)")
    if any(b <= a for a, b in zip(sizes, sizes[1:])):
        raise SchemaError(f"--sequence {shown} must increase: each request forgets a set that holds the "
                          "previous one")
    return sizes


def check_modality(modality: str) -> str:
    """`modality` if it names a forget stream (text, image or both); else a one-line `SchemaError`."""
    if modality not in MODALITIES:
        raise SchemaError(f"unknown modality '{modality}'; valid: {', '.join(MODALITIES)}")
    return modality


def schema_for(dataset: str, config: str) -> ConfigSchema:
    table = CLEAR_SCHEMAS if dataset == "clear" else TOFU_SCHEMAS
    if config not in table:
        raise SchemaError(f"unknown {dataset.upper()} config '{config}'; valid: {', '.join(sorted(table))}")
    return table[config]


def _kind_of_feature(feature) -> str | None:
    """Map a `datasets` feature (or an Arrow type string) to one of our column kinds."""
    name = type(feature).__name__
    if name == "Image":
        return IMAGE
    if name == "Value":
        return STR if feature.dtype in ("string", "large_string") else f"value:{feature.dtype}"
    if name in ("Sequence", "List", "LargeList"):
        inner = getattr(feature, "feature", None)
        return LIST if _kind_of_feature(inner) == STR else f"list:{_kind_of_feature(inner)}"
    if isinstance(feature, dict) and set(feature) >= {"bytes", "path"}:
        return IMAGE
    return name


def validate_columns(source: str, dataset: str, config: str, features) -> None:
    """Check a loaded config's features against its schema; raise one `SchemaError` per first problem."""
    schema = schema_for(dataset, config)
    present = dict(features)
    for col, kind in schema.required.items():
        if col not in present:
            raise SchemaError(f"{source} config '{config}': missing column '{col}' (expected {kind}; "
                              f"found {', '.join(sorted(present)) or 'no columns'})")
    for col, kind in {**schema.required, **schema.optional}.items():
        if col in present:
            got = _kind_of_feature(present[col])
            if got != kind:
                raise SchemaError(f"{source} config '{config}': column '{col}' has type {got}, expected {kind}")


def validate_rows(source: str, config: str, rows, dataset: str = "clear") -> None:
    """Row-level checks the features cannot express: empty or ragged perturbed lists, nulls, options."""
    schema = schema_for(dataset, config)
    lists = [c for c, k in {**schema.required, **schema.optional}.items() if k == LIST]
    lengths: dict[str, int] = {}
    for i, row in enumerate(rows):
        for col in schema.required:
            if col not in schema.nullable and row.get(col) is None:
                raise SchemaError(f"{source} config '{config}': row {i} has a null '{col}'")
        if schema.nullable:
            is_image = row.get("image") is not None
            need = ("image", "caption") if is_image else ("question", "answer")
            for col in need:
                if row.get(col) is None or row.get(col) == "":
                    kind = "an image" if is_image else "a text"
                    raise SchemaError(f"{source} config '{config}': row {i} is {kind} row but '{col}' is empty")
        for col in lists:
            value = row.get(col)
            if value is None:
                continue
            if len(value) == 0:
                raise SchemaError(f"{source} config '{config}': row {i} has an empty '{col}' list")
            if col == "options":
                if not [o for o in value if o != row.get("answer")]:
                    raise SchemaError(f"{source} config '{config}': row {i} has no distractor in 'options' "
                                      "(only the answer)")
                continue  # options may differ in length from row to row
            if lengths.setdefault(col, len(value)) != len(value):
                raise SchemaError(f"{source} config '{config}': column '{col}' is ragged (row {i} has {len(value)} "
                                  f"items, earlier rows {lengths[col]})")


_CONFIG_RE = re.compile(r"^[A-Za-z0-9_+\-]+$")


def check_config_name(config: str) -> str:
    if not _CONFIG_RE.match(config):
        raise SchemaError(f"invalid config name '{config}'")
    return config
