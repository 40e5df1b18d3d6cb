"""The prefill attack: the forget question with the opening of its answer already given.

A prefilling attack writes the first words of the assistant's answer and lets the model go on (the prefilling
attack of Andriushchenko et al., ICLR 2025, "Jailbreaking leading safety-aligned LLMs with simple adaptive
attacks"; issue 23 cites prefilled answers bypassing VLM unlearning): an unlearned model that only learnt to avoid
the opening of the forgotten answer gives the rest of it back.

Every forget item whose answer has two words or more gets the first half of its words (at least one; "David" of
"David Quist", "David Quist was" of "David Quist was born in Perth.") as `Sample.prefill`; what is scored is the
rest of the answer: its probability after the opening, and the greedy continuation's ROUGE-L recall of it. The
paraphrased and wrong answers are not scored (they do not begin with the true opening), so the truth ratio, and
with it the forget metric, is not defined here: the prefill's numbers are `recovery_rouge` and `recovery_prob`.

The numbers before the attack are the ordinary logs of the run, target and gold seen the same way
(`plain_view`): the ROUGE-L recall of the rest in the plain generation, and the probability of the rest's tokens
in the plain scoring. Teacher forcing already conditions those tokens on the true opening, so the probability
barely moves (a check of the plumbing, tests/test_attacks_demo.py); what the prefill changes is what the model
generates, `recovery_rouge`.
"""
from __future__ import annotations

from dataclasses import replace

from .base import InputAttack, register

FRACTION = 2  # the first 1/FRACTION of the answer's words are given


def split_answer(answer: str) -> tuple[str, str] | None:
    """(opening, rest) of an answer, cut before a space so that the rest starts with one (how BPE and
    SentencePiece tokenizers begin a word); None for a one-word answer."""
    words = answer.split(" ")
    if len([w for w in words if w]) < 2:
        return None
    k = max(1, len(words) // FRACTION)
    opening = " ".join(words[:k])
    return opening, answer[len(opening):]


class Prefill(InputAttack):
    """The forget question with the first half of its answer given; the rest of the answer scored."""

    name = "prefill"
    tracks = ("multimodal", "text")
    task_names = {"multimodal": ("forget_captions", "forget_facerec", "tofu_forget"), "text": ("text_forget",)}
    paper = "the prefilling attack of Andriushchenko et al., ICLR 2025"
    doc = ("The forget question with the first half of the answer's words given as the assistant's opening; the "
           "rest's ROUGE-L and probability scored (recovery_rouge, recovery_prob). " + paper + ".")

    def settings(self) -> dict:
        return {"given": f"first 1/{FRACTION} of the answer's words (at least one, at least one left)"}

    def transform(self, task, samples, ctx=None):
        out = []
        for s in samples:
            cut = split_answer(s.answer)
            if cut is None:
                out.append(replace(s, paraphrased_answer=None, perturbed_answers=(), options=()))
                continue
            out.append(replace(s, prefill=cut[0], answer=cut[1], paraphrased_answer=None, perturbed_answers=(),
                               options=()))
        return out

    def plain_view(self, task, records, attacked):
        """Each ordinary record as the prefill measures it: the answer's rest, the probability of its last
        tokens (as many as the prefilled scoring counted), the ROUGE-L recall of the rest in the plain generation."""
        from dataclasses import replace as dc_replace

        from ..eval.metrics.rouge import rouge_l_recall

        out = []
        for r in records:
            a = attacked.get(r.item_id)
            if a is None:
                continue
            n = min(a.answer_tokens, r.answer_tokens)
            tail = (lambda xs: None if xs is None else list(xs[-n:]))
            lp = tail(r.token_logprobs)
            out.append(dc_replace(
                r, answer=a.answer, answer_nll=-sum(lp) if lp is not None else r.answer_nll * n / r.answer_tokens,
                answer_tokens=n, token_logprobs=lp, token_mu=tail(r.token_mu), token_sigma=tail(r.token_sigma),
                paraphrase_nll=None, paraphrase_tokens=None, perturbed_nll=[], perturbed_tokens=[],
                rouge_l=None if r.generation is None else rouge_l_recall(a.answer, r.generation)))
        return out


register(Prefill())
