"""The paraphrase attack: the forget questions asked in the other wording the data holds.

TOFU's perturbed configs carry a `paraphrased_question` for every question (locuslab/TOFU dataset card; the
schema in `data/schema.py`). Unlearning trains on the original questions, and the ordinary evaluation asks them
too: its "paraphrase" is the paraphrased ANSWER (`paraphrased_answer`), scored after the original question for
the truth ratio. No evaluation task asks the paraphrased question, so this attack asks something the unlearning
never saw: every variant (answer, paraphrased answer, wrong answers) is scored, and the answer generated, after
the paraphrased question, and the forget metric is computed as usual on those logs. An unlearning that keyed on
the question's wording leaves the knowledge reachable by another one (rephrased prompts are among the robustness
checks of Lynch et al. 2024, "Eight methods to evaluate robust unlearning in LLMs").

Tasks: `text_forget` on the text track; on the multimodal track `tofu_forget`, the TOFU QA of its forget stream.
The CLEAR image tasks have no paraphrased question in the data: training already draws each caption request from
the whole pool of nine (`data/prompts.CAPTION_QUESTIONS`) and the face->name prompt is fixed, so the multimodal
forget metric (captions + face recognition) is not re-scored here; its numbers are on `tofu_forget`
(`recovery_prob`, `recovery_rouge`).
"""
from __future__ import annotations

from dataclasses import replace

from ..errors import ClearBenchError
from .base import InputAttack, register

COLUMN = "paraphrased_question"


class Paraphrase(InputAttack):
    """The forget QA asked with the data's paraphrased question."""

    name = "paraphrase"
    tracks = ("multimodal", "text")
    task_names = {"multimodal": ("tofu_forget",), "text": ("text_forget",)}
    paper = ("TOFU's paraphrased questions (Maini et al. 2024); Lynch et al. 2024, 'Eight methods to evaluate "
             "robust unlearning'")
    doc = ("The forget QA asked with the data's paraphrased question (TOFU's paraphrased_question; the ordinary "
           "evaluation only paraphrases answers); every variant re-scored. " + paper + ".")

    def settings(self) -> dict:
        return {"column": COLUMN}

    def transform(self, task, samples, ctx):
        config = task.config_for(ctx.identity["forget"])
        rows = ctx.source.load(task.dataset, config)
        out = []
        for s in samples:
            row = rows[s.extra["row"]]
            question = row.get(COLUMN)
            if not question:
                raise ClearBenchError(f"the paraphrase attack needs '{COLUMN}' in {task.dataset.upper()} config "
                                      f"'{config}'; row {s.extra['row']} has none")
            if row.get("question") != s.question:
                raise ClearBenchError(f"{task.dataset.upper()} config '{config}': row {s.extra['row']} is not the "
                                      f"item {s.item_id} it was scored as")
            out.append(replace(s, question=str(question)))
        return out


register(Paraphrase())
