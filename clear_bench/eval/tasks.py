"""Evaluation tasks as data (paper section 5; the reference's `config/mm/eval.yaml` at
github.com/somvy/multimodal_unlearning): which config, which prompt, which columns, which role.

The six CLEAR tasks of the paper, the TOFU text QA tasks of the forget and retain authors (text
unlearning judged in its own modality), and holdout tasks (persons never trained on: the
non-members of membership inference). `samples_for_task` turns a loaded config's rows into
`Sample`s; the scorer then scores, for every sample, `answer`, `paraphrased_answer` (None: the
task's paraphrase is the answer itself) and each wrong answer (`perturbed_answers`, or `options`
for option-style tasks), all with the same question and image, and generates from the question and
image.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..data.prompts import NAME_PROMPT, caption_question
from ..data.sample import Sample
from ..data.schema import DEFAULT_FORGET, check_forget
from ..errors import SchemaError
from ..registry import Registry

HUB_IDS = {"clear": "therem/CLEAR", "tofu": "locuslab/TOFU"}
DEFAULT_CAP = 300

# Question kinds: a caption request chosen from the item id, the fixed name prompt, or a column.
CAPTION, NAME = "caption", "name"


@dataclass(frozen=True)
class TaskSpec:
    """One evaluation task.

    name: the key of its per-item log and of its metrics ("forget_captions", ...).
    dataset / config: "clear" or "tofu" and the config to load; "{forget:02d}" is filled with the
        forget size (forget10_perturbed for 10 %).
    question: "caption" (one of the nine caption requests, fixed per item id), "name" (the
        face->name prompt) or the name of the column holding the question.
    answer / paraphrase / perturbed: columns of the true answer, its paraphrase (None: the answer
        itself) and the wrong answers (perturbed captions/names/answers or the distractor options).
    role: forget / retain / real / holdout. group: pairs tasks of one kind across roles.
    normalized_prob: Prob is p/(p + sum q) (choice-style) instead of mean p.
    cap: evaluate the first `cap` rows in dataset order (the reference's ds_size=300); None = all.
    paper: one of the six tasks of the CLEAR paper.
    track: the leaderboard track the task belongs to: "multimodal" (the VLM tasks, `TASKS`) or "text"
        (the text-only track's TOFU tasks, `TEXT_TASKS`, scored on a causal LM).
    """

    name: str
    dataset: str
    config: str
    question: str
    answer: str
    paraphrase: str | None
    perturbed: str
    role: str
    group: str
    normalized_prob: bool = False
    cap: int | None = DEFAULT_CAP
    paper: bool = False
    track: str = "multimodal"

    def config_for(self, forget: int = DEFAULT_FORGET) -> str:
        return self.config.format(forget=check_forget(forget))

    @property
    def has_image(self) -> bool:
        return self.dataset == "clear"


def _clear(name: str, config: str, question: str, answer: str, paraphrase: str | None, perturbed: str, role: str,
           group: str, normalized: bool, paper: bool = True) -> TaskSpec:
    return TaskSpec(name, "clear", config, question, answer, paraphrase, perturbed, role, group, normalized,
                    paper=paper)


def _tofu(name: str, config: str, role: str) -> TaskSpec:
    # TOFU's forget/retain QA use the plain mean p for Prob (TOFU normalises only its option sets).
    return TaskSpec(name, "tofu", config, "question", "answer", "paraphrased_answer", "perturbed_answer", role,
                    "tofu_qa")


_CAPTION_COLS = ("caption", "paraphrased_caption", "perturbed_captions")
_NAME_COLS = ("name", None, "perturbed_names")

TASKS: Registry[TaskSpec] = Registry("evaluation task", [(t.name, t) for t in (
    _clear("forget_captions", "forget{forget:02d}_perturbed", CAPTION, *_CAPTION_COLS, "forget", "captions", False),
    _clear("retain_captions", "retain_perturbed", CAPTION, *_CAPTION_COLS, "retain", "captions", False),
    _clear("forget_facerec", "forget{forget:02d}_perturbed", NAME, *_NAME_COLS, "forget", "facerec", True),
    _clear("retain_facerec", "retain_perturbed", NAME, *_NAME_COLS, "retain", "facerec", True),
    _clear("real_faces", "real_faces", NAME, "answer", None, "options", "real", "real_faces", True),
    _clear("real_world", "real_world", "question", "answer", None, "options", "real", "real_world", True),
    _tofu("tofu_forget", "forget{forget:02d}_perturbed", "forget"),
    _tofu("tofu_retain", "retain_perturbed", "retain"),
    # Holdout persons are not on therem/CLEAR; generated datasets (and TOFU copies that add them) have them.
    _clear("holdout_captions", "holdout_perturbed", CAPTION, *_CAPTION_COLS, "holdout", "captions", False, False),
    _clear("holdout_facerec", "holdout_perturbed", NAME, *_NAME_COLS, "holdout", "facerec", True, False),
    _tofu("tofu_holdout", "holdout_perturbed", "holdout"),
)])


def _text(name: str, config: str, paraphrase: str | None, role: str, group: str, normalized: bool) -> TaskSpec:
    return TaskSpec(name, "tofu", config, "question", "answer", paraphrase, "perturbed_answer", role, group,
                    normalized, track="text")


# The text-only track (CLEAR Table 4 = TOFU's evaluation on a causal LM): forget / retain QA, and TOFU's
# real-authors and world-facts option sets, whose Prob is normalised over the options and whose truth
# ratio compares the answer (no paraphrase) with the wrong options (TOFU, Maini et al. 2024, §3.2).
TEXT_TASKS: dict[str, TaskSpec] = {t.name: t for t in (
    _text("text_forget", "forget{forget:02d}_perturbed", "paraphrased_answer", "forget", "tofu_qa", False),
    _text("text_retain", "retain_perturbed", "paraphrased_answer", "retain", "tofu_qa", False),
    _text("text_real_authors", "real_authors_perturbed", None, "real", "real_authors", True),
    _text("text_world_facts", "world_facts_perturbed", None, "real", "world_facts", True),
    # Authors never trained on (TOFU on the Hub has no such config; generated data has them): the non-members of
    # the text track's membership inference and PrivLeak (OpenUnlearning's TOFU suite scores forget vs holdout10).
    _text("text_holdout", "holdout_perturbed", "paraphrased_answer", "holdout", "tofu_qa", False),
)}

PAPER_TASKS = tuple(n for n, t in TASKS.items() if t.paper)
TOFU_TASKS = ("tofu_forget", "tofu_retain")
HOLDOUT_TASKS = ("holdout_captions", "holdout_facerec", "tofu_holdout")


_MISSING = object()


def get_task(name: str, default=_MISSING) -> TaskSpec:
    """The task called `name` (multimodal or text track); `default` if given, else `UnknownNameError` naming the
    valid ones."""
    if name in TASKS:
        return TASKS[name]
    if name in TEXT_TASKS:
        return TEXT_TASKS[name]
    if default is not _MISSING:
        return default
    from ..errors import UnknownNameError

    raise UnknownNameError("evaluation task", name, {**TASKS, **TEXT_TASKS})


def item_id(task: TaskSpec, config: str, index: int) -> str:
    """Stable id of row `index` of `config`: the same for the unlearned and the gold run, and the seed
    of the caption request (so every answer variant of an item shares one question)."""
    return f"{task.dataset}:{config}:{index}"


def _column(row: Mapping[str, Any], col: str, task: TaskSpec, config: str, index: int) -> Any:
    if col not in row:
        raise SchemaError(f"{task.dataset.upper()} config '{config}' (task '{task.name}'): row {index} has no "
                          f"column '{col}' (columns: {', '.join(sorted(row))})")
    value = row[col]
    if value is None:
        raise SchemaError(f"{task.dataset.upper()} config '{config}' (task '{task.name}'): row {index} has a "
                          f"null '{col}'")
    return value


def wrong_answers(answer: str, candidates: Sequence[str]) -> tuple[str, ...]:
    """The candidates that are not the answer (options may or may not hold it: tests/test_eval_tasks.py)."""
    key = answer.strip()
    return tuple(c for c in candidates if c.strip() != key)


def samples_for_task(task: TaskSpec | str, rows: Sequence[Mapping[str, Any]], forget: int = DEFAULT_FORGET,
                     cap: int | None | str = "task") -> list[Sample]:
    """Turn a loaded config's rows (dicts, in dataset order) into the task's `Sample`s.

    The first `cap` rows are used (default: the task's cap, 300). The question follows the task's
    kind. The wrong answers to score (never containing the answer) are `perturbed_answers`, or, for
    option-style tasks (real faces, real world), `options` with `perturbed_answers` empty: the scorer
    scores both fields, so filling both would score every distractor twice. Raises `SchemaError`
    naming the row and column when a needed value is missing or a row has no wrong answer left.
    """
    task = get_task(task) if isinstance(task, str) else task
    config = task.config_for(forget)
    limit = task.cap if cap == "task" else cap
    samples = []
    for index, row in enumerate(rows[:limit] if limit is not None else rows):
        iid = item_id(task, config, index)
        answer = str(_column(row, task.answer, task, config, index))
        if task.question == CAPTION:
            question = caption_question(iid)
        elif task.question == NAME:
            question = NAME_PROMPT
        else:
            question = str(_column(row, task.question, task, config, index))
        paraphrase = None if task.paraphrase is None else str(_column(row, task.paraphrase, task, config, index))
        wrong = wrong_answers(answer, [str(c) for c in _column(row, task.perturbed, task, config, index)])
        if not wrong:
            raise SchemaError(f"{task.dataset.upper()} config '{config}' (task '{task.name}'): row {index} has no "
                              f"wrong answer in '{task.perturbed}' once the answer is removed")
        is_options = task.perturbed == "options"
        person = row.get("name") or row.get("author") or (answer if task.name == "real_faces" else None)
        samples.append(Sample(
            item_id=iid, question=question, answer=answer,
            image=_column(row, "image", task, config, index) if task.has_image else None,
            paraphrased_answer=paraphrase, perturbed_answers=() if is_options else wrong,
            options=wrong if is_options else (), person=person,
            source=f"{HUB_IDS[task.dataset]}:{config}", extra={"task": task.name, "row": index}))
    return samples
