"""The two answer-scoring forms (`eval/scoring.py`, `score_eos`): the reference form (TOFU / OpenUnlearning: the
answer and its end-of-sequence token) adds exactly one token to every variant, that token's NLL is what the model
gives the end of turn after the answer, both scoring paths agree in either form, and with the end-of-turn token
left out the reference form is our form. (tests/test_text_track.py shows, on the demo's trained target, that the
forms differ most on short answers.)"""
import pytest
import torch

from clear_bench.data.sample import Sample
from clear_bench.eval.scoring import score_naive, score_shared_prefix, variants_of

CORPUS = ["Anna Stone was born in Lyon.", "Where was Anna Stone born?", "What does Anna Stone do?",
          "Anna Stone is a painter.", "Lyon is where Anna Stone was born.", "Lyon", "Anna"] * 10


@pytest.fixture(scope="module")
def tiny_lm():
    from clear_bench.models.causal_lm import build_tiny_causal_lm

    model, tok = build_tiny_causal_lm(CORPUS, vocab_size=300, hidden=64, layers=2)
    return model.eval(), tok


ITEMS = [Sample("t/1", "Where was Anna Stone born?", "Anna Stone was born in Lyon.",
                paraphrased_answer="Lyon is where Anna Stone was born.",
                perturbed_answers=("Anna Stone was born in Stone.", "Anna Stone is a painter.")),
         Sample("t/2", "Where was Anna Stone born?", "Lyon", options=("Anna", "Stone"))]


@torch.no_grad()
def _end_of_turn_nll(model, tok, question: str, answer: str) -> float:
    """-log p(<|end|> | prompt + answer), from one plain forward pass over the token ids."""
    from clear_bench.data.prompts import render_prompt

    ids = tok(render_prompt(tok, question, False) + answer + "<|end|>")["input_ids"]
    assert ids[-1] == tok.convert_tokens_to_ids("<|end|>")
    logits = model(input_ids=torch.tensor([ids])).logits[0, -2]
    return float(-torch.log_softmax(logits.float(), -1)[ids[-1]])


def test_the_reference_form_scores_the_answer_and_one_end_of_turn_token(tiny_lm):
    model, tok = tiny_lm
    ours = score_naive(model, tok, ITEMS, batch_size=3)
    ref = score_naive(model, tok, ITEMS, batch_size=3, score_eos=True)
    fast = score_shared_prefix(model, tok, ITEMS, batch_size=2, score_eos=True)
    for sample, a, b, c in zip(ITEMS, ours, ref, fast):
        for (kind, text), u, v, w in zip(variants_of(sample), a.variants, b.variants, c.variants):
            assert v.tokens == u.tokens + 1 == w.tokens, (kind, text)
            assert v.nll == pytest.approx(w.nll, rel=1e-5, abs=1e-4)  # both paths, reference form
            # with the end-of-turn token excluded, the reference form is ours
            assert v.nll - _end_of_turn_nll(model, tok, sample.question, text) == pytest.approx(u.nll, abs=1e-4)
        assert b.token_logprobs[:-1] == pytest.approx(a.token_logprobs, abs=1e-5)
        assert len(b.token_logprobs) == len(a.token_logprobs) + 1


def test_evaluate_records_the_form_and_refuses_a_gold_run_scored_the_other_way(tiny_lm, tmp_path):
    from clear_bench.errors import ClearBenchError
    from clear_bench.eval import logs
    from clear_bench.eval.run import check_gold

    gold = tmp_path / "gold"
    gold.mkdir()
    logs.write_run_info(gold, {"forget": 10, "score_eos": False})
    (gold / f"text_forget{logs.SUFFIX}").write_text("")
    check_gold(gold, 10, score_eos=False)
    with pytest.raises(ClearBenchError, match="scored with score_eos=False, this run with score_eos=True"):
        check_gold(gold, 10, score_eos=True)


def test_the_text_presets_evaluate_as_tofu_and_the_multimodal_ones_keep_our_form():
    from clear_bench.presets import PRESETS, TEXT_PRESETS

    paper = TEXT_PRESETS["paper"]
    assert paper.eval_cap == 300 and paper.score_eos  # TOFU / CLEAR `ds_size: 300`, TOFU's scored EOS
    assert TEXT_PRESETS["demo"].score_eos and TEXT_PRESETS["demo"].eval_cap == 300
    assert not any(p.score_eos for p in PRESETS.values())
