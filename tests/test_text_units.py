"""Text track, fast parts: a causal LM's tokenizer through the shared collator and scorer, the TOFU table
metrics on hand-made records, and the cross-track transfer (Spearman's rho with ties vs scipy)."""
import math

import numpy as np
import pytest

from clear_bench.data.collator import IGNORE, Collator
from clear_bench.data.sample import Sample
from clear_bench.errors import ClearBenchError

CORPUS = ["Anna Stone was born in Lyon.", "Where was Anna Stone born?", "What does Anna Stone do?",
          "Anna Stone is a painter.", "Lyon is where Anna Stone was born."] * 10


@pytest.fixture(scope="module")
def tiny_lm():
    from clear_bench.models.causal_lm import build_tiny_causal_lm

    model, tok = build_tiny_causal_lm(CORPUS, vocab_size=300, hidden=64, layers=2)
    return model.eval(), tok


@pytest.fixture()
def items():
    return [Sample("t/1", "Where was Anna Stone born?", "Anna Stone was born in Lyon.",
                   paraphrased_answer="Lyon is where Anna Stone was born.",
                   perturbed_answers=("Anna Stone was born in Stone.", "Anna Stone is a painter.")),
            Sample("t/2", "What does Anna Stone do?", "Anna Stone is a painter.", options=("Lyon", "Anna"))]


def test_collator_supervises_only_the_answer_of_a_causal_lm(tiny_lm, items):
    _, tok = tiny_lm
    batch = Collator(tok)(items)
    assert set(batch) == {"input_ids", "attention_mask", "labels"}  # no pixel values, no token types
    for i, s in enumerate(items):
        labelled = batch["labels"][i][batch["labels"][i] != IGNORE].tolist()
        assert tok.decode(labelled) == s.answer + "<|end|>"


def test_collator_refuses_an_image_for_a_causal_lm(tiny_lm, red_image):
    _, tok = tiny_lm
    with pytest.raises(ClearBenchError, match="a sample has an image, but the model is a text-only causal LM"):
        Collator(tok)([Sample("i/1", "What can you see?", "Anna.", image=red_image)])


def test_llama2_style_template_gives_one_bos(tiny_lm):
    """A template that writes the BOS itself (Llama-2-chat's) and a tokenizer that adds one: one BOS in total."""
    from clear_bench.data.prompts import render_prompt

    import copy

    llama = copy.deepcopy(tiny_lm[1])  # the fixture's tokenizer stays untouched
    llama.chat_template = ("{% for m in messages %}{% if m['role'] == 'user' %}{{ bos_token + '[INST] ' + "
                           "m['content'] + ' [/INST]' }}{% else %}{{ ' ' + m['content'] + ' ' + eos_token }}"
                           "{% endif %}{% endfor %}")
    prompt = render_prompt(llama, "Where was Anna Stone born?", False)
    assert prompt == "[INST] Where was Anna Stone born? [/INST]"
    ids = llama(prompt)["input_ids"]
    assert ids.count(llama.bos_token_id) == 1 and ids[0] == llama.bos_token_id


def test_shared_prefix_scoring_equals_naive_on_a_causal_lm(tiny_lm, items):
    from clear_bench.eval.scoring import generate_answers, score_naive, score_shared_prefix

    model, tok = tiny_lm
    naive = score_naive(model, tok, items, batch_size=3)
    fast = score_shared_prefix(model, tok, items, batch_size=2)
    for a, b in zip(naive, fast):
        assert [v.kind for v in a.variants] == [v.kind for v in b.variants]
        for u, v in zip(a.variants, b.variants):
            assert u.tokens == v.tokens > 0
            assert u.nll == pytest.approx(v.nll, rel=1e-5, abs=1e-4)
    assert len(generate_answers(model, tok, items, max_new_tokens=4)) == 2


# ------------------------------------------------------------------------------------- metrics


def _record(task, answer_nll, para_nll, pert_nlls, rouge, n=2, iid=None):
    from clear_bench.eval.logs import ItemRecord

    return ItemRecord(item_id=iid or f"{task}:{answer_nll}", task=task, answer="a b", answer_nll=answer_nll * n,
                      answer_tokens=n, paraphrase_nll=None if para_nll is None else para_nll * n,
                      paraphrase_tokens=None if para_nll is None else n,
                      perturbed_nll=[x * n for x in pert_nlls], perturbed_tokens=[n] * len(pert_nlls),
                      generation="a", rouge_l=rouge)


def _run(scale=1.0):
    from clear_bench.eval.metrics import TaskLog
    from clear_bench.eval.tasks import TEXT_TASKS

    rows = {"text_forget": [(0.1 * scale, 0.3, [1.0, 1.2], 1.0, "f1"), (0.2 * scale, 0.1, [0.5, 2.0], 0.5, "f2"),
                            (0.4, 0.6, [0.6, 0.7], 0.25, "f3")],
            "text_retain": [(0.2, 0.2, [1.5, 2.5], 1.0, "r1"), (0.3, 0.4, [0.9, 1.1], 0.8, "r2")],
            "text_real_authors": [(0.5, None, [1.0, 2.0, 3.0], 1.0, "a1"), (1.5, None, [1.0, 0.5, 2.0], 0.0, "a2")],
            "text_world_facts": [(0.1, None, [2.0, 2.0, 2.0], 1.0, "w1"), (0.2, None, [0.1, 3.0, 4.0], 0.5, "w2")]}
    out = {}
    for task, items in rows.items():
        spec = TEXT_TASKS[task]
        records = tuple(_record(task, a, p, q, r, iid=i) for a, p, q, r, i in items)
        out[task] = TaskLog(task, spec.role, records, spec.normalized_prob, spec.group)
    return out, rows


def test_tofu_table_metrics_follow_their_formulas():
    from scipy.stats import hmean, ks_2samp

    from clear_bench.eval.summary import compute_metrics

    run, rows = _run()
    gold, _ = _run(scale=3.0)
    values, skipped = compute_metrics(run, gold, track="text")
    got = {v.key: v.value for v in values}
    # every text metric computed; the multimodal table metrics find none of their tasks
    assert {"text_model_utility", "text_forget_metric", "text_retain_metric", "text_real_metric",
            "text_log_forget_quality"} <= set(got)
    assert not {"forget_metric", "model_utility"} & set(got)

    def ratio(p, q):  # R = P_pert / P_para from per-token NLLs
        return math.exp(p - np.mean(q))

    def prob(task):
        if task in ("text_real_authors", "text_world_facts"):
            return np.mean([math.exp(-a) / (math.exp(-a) + sum(math.exp(-x) for x in q))
                            for a, _, q, _, _ in rows[task]])
        return np.mean([math.exp(-a) for a, *_ in rows[task]])

    def keep(task):
        return np.mean([max(0.0, 1 - ratio(p if p is not None else a, q)) for a, p, q, _, _ in rows[task]])

    def rouge(task):
        return np.mean([r for *_, r, _ in rows[task]])

    mu = hmean([f(t) for t in ("text_retain", "text_real_authors", "text_world_facts") for f in (prob, keep, rouge)])
    assert got["text_model_utility"] == pytest.approx(mu, abs=1e-9)
    assert got["text_retain_metric"] == pytest.approx(hmean([rouge("text_retain"), prob("text_retain"),
                                                             keep("text_retain")]), abs=1e-9)
    assert got["text_real_metric"] == pytest.approx(hmean([f(t) for t in ("text_real_authors", "text_world_facts")
                                                           for f in (rouge, prob, keep)]), abs=1e-9)
    assert got["text_forget_metric"] == pytest.approx(hmean([rouge("text_forget"), prob("text_forget"),
                                                             keep("text_forget")]), abs=1e-9)
    mine = [ratio(p, q) for a, p, q, _, _ in rows["text_forget"]]
    assert got["text_log_forget_quality"] == pytest.approx(math.log(ks_2samp(mine, mine).pvalue), abs=1e-9)
    assert got["text_forget/forget_quality_ks"] == pytest.approx(1.0)


def test_text_metrics_stay_out_of_multimodal_runs():
    from clear_bench.eval.metrics import list_metrics

    assert "text_model_utility" not in list_metrics()
    assert {"text_model_utility", "prob", "forget_quality_ks"} <= set(list_metrics("text"))
    assert "model_utility" in list_metrics(None)


# ------------------------------------------------------------------------------------ transfer


def _rec(method, track, forget_value, retain_value, forget=10, preset="demo"):
    from clear_bench.leaderboard.records import make_record, record_hash

    keys = {"multimodal": ("forget_metric", "retain_metric"), "text": ("text_forget_metric", "text_retain_metric")}
    f, r = keys[track]
    metrics = {f: {"value": forget_value, "higher_is_better": False, "direction": "↓"},
               r: {"value": retain_value, "higher_is_better": True, "direction": "↑"}}
    rec = make_record(method=method, modality="text", forget=forget, seed=0, config={"preset": preset}, data={},
                      model={}, versions={}, metrics=metrics)
    if track != "multimodal":
        rec["track"] = track
        rec["record_hash"] = record_hash(rec)
    return rec


def test_transfer_rho_with_ties_equals_scipy():
    from scipy.stats import spearmanr

    from clear_bench.leaderboard.transfer import transfer

    mm = {"ga": 0.0, "gd": 0.0, "npo": 0.1, "idk": 0.3, "dpo": 0.2, "scrub": 0.4}  # a tie at the top
    tx = {"ga": 0.05, "gd": 0.2, "npo": 0.2, "idk": 0.5, "dpo": 0.1, "scrub": 0.5, "rmu": 0.9}  # 2 ties; rmu: text
    records = [(f"mm/{m}", _rec(m, "multimodal", v, 1 - v)) for m, v in mm.items()]
    records += [(f"tx/{m}", _rec(m, "text", v, 0.5)) for m, v in tx.items()]
    forget, retain = transfer(records)
    common = sorted(mm)
    expected = spearmanr([tx[m] for m in common], [mm[m] for m in common])
    assert forget.kind == "forget" and forget.track == "text" and forget.methods == common
    assert forget.rho == pytest.approx(expected.statistic, abs=1e-12)
    assert forget.p == pytest.approx(expected.pvalue, abs=1e-12)
    assert forget.ranks["ga"] == (1.0, 1.5) and forget.ranks["idk"][0] == forget.ranks["scrub"][0] == 5.5
    assert math.isnan(retain.rho)  # a constant text retain ranking has no correlation


@pytest.mark.parametrize("change, pattern", [
    (dict(forget=5), r"has forget size 5, .* has 10: compare records of one forget size only"),
    (dict(preset="paper"), r"has preset paper, .* has demo: compare records of one preset only"),
])
def test_transfer_refuses_mixed_records(change, pattern):
    from clear_bench.leaderboard.transfer import transfer

    records = [(f"mm/{m}", _rec(m, "multimodal", v, v)) for m, v in (("ga", 0.1), ("gd", 0.2), ("npo", 0.3))]
    records.append(("tx/ga", _rec("ga", "text", 0.1, 0.1, **change)))
    with pytest.raises(ClearBenchError, match=pattern):
        transfer(records)


def test_transfer_command_writes_table_and_figure(tmp_path, capsys):
    import json

    from clear_bench.cli import main

    folder = tmp_path / "records"
    folder.mkdir()
    for i, (m, v) in enumerate((("ga", 0.1), ("gd", 0.2), ("npo", 0.3), ("idk", 0.6))):
        (folder / f"mm-{m}.json").write_text(json.dumps(_rec(m, "multimodal", v, 1 - v)))
        (folder / f"tx-{m}.json").write_text(json.dumps(_rec(m, "text", v * (1 + i % 2) / 2, 1 - v)))
    assert main(["transfer", str(folder), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "| text | forget | 4 | 0.800 | 0.200 |" in out and "methods used: ga, gd, idk, npo" in out
    assert (tmp_path / "out" / "transfer.png").stat().st_size > 0
    assert main(["transfer", str(folder), "--key", "text:forgot=x"]) == 2
    assert "must look like TRACK:KIND=METRIC" in capsys.readouterr().err


def _text_methods():
    from clear_bench.tracks import get_track

    return get_track("text").method_names()


@pytest.mark.parametrize("name", _text_methods())
def test_every_text_track_method_trains_a_causal_lm(name, items):
    """The shared runner and methods on a causal LM: LoRA weights move, base weights stay (RMU included)."""
    import copy

    import torch

    from clear_bench.baselines import get_method
    from clear_bench.training.loop import TrainConfig
    from clear_bench.training.unlearn import UnlearnConfig, make_pairs, unlearn
    from clear_bench.models.causal_lm import build_tiny_causal_lm

    model, tok = build_tiny_causal_lm(CORPUS, vocab_size=300, hidden=64, layers=2)
    before = copy.deepcopy(model.state_dict())
    forget = [items[0], Sample("t/3", "What does Anna Stone do?", "Anna Stone is a painter.")]
    retain = [Sample("r/1", "Where was Anna Stone born?", "Lyon is where Anna Stone was born."), items[1]]
    cfg = UnlearnConfig(lora_r=4, lora_alpha=8,
                        train=TrainConfig(epochs=2, lr=5e-3, batch_size=2, warmup_epochs=0, weight_decay=0.0))
    merged, result = unlearn(model, tok, get_method(name)(), make_pairs(forget, retain, 0), cfg)
    assert result.stopped_at is None and result.steps == 2
    after = merged.state_dict()
    assert set(after) == set(before)
    assert any(not torch.equal(before[k], after[k]) for k in before), f"{name} changed no weight"
