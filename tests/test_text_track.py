"""`clear-eval --track text --preset demo` end to end: a tiny causal LM memorises TOFU, the gold model does not
know the forget authors, GA / GD / NPO forget, Retain FT keeps; every TOFU metric equals an independent
computation from the per-item logs."""
import json
import math
from pathlib import Path

import numpy as np
import pytest

from clear_bench.cli import clear_eval_main

pytestmark = pytest.mark.slow
METHODS = ("ga", "gd", "npo", "retain_ft")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("text-runs")
    for m in METHODS:
        assert clear_eval_main(["--track", "text", "--preset", "demo", "--method", m, "--out", str(root / m)]) == 0
    return root


def _summary(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())["metrics"]


def _cached(kind: str) -> Path:
    from clear_bench.presets import cache_dir

    (folder,) = (cache_dir() / "evals").glob(f"text-{kind}-*")
    return folder


def v(metrics, key):
    return metrics[key]["value"]


def test_run_folder_and_record(runs):
    from clear_bench.leaderboard.records import load_record

    out = runs / "npo"
    for name in ("results.md", "results.png", "submission.json", "unlearn.json", "eval/summary.json",
                 "eval/text_forget.jsonl", "eval/text_world_facts.jsonl"):
        assert (out / name).exists(), name
    record = load_record(out / "submission.json")
    assert record["track"] == "text" and record["method"] == "npo" and record["config"]["preset"] == "demo"
    # the evaluation settings of TOFU's protocol travel with the record (docs/text_track.md)
    assert record["config"]["eval"]["cap"] == 300 and record["config"]["eval"]["score_eos"] is True
    m = _summary(out / "eval")
    assert record["metrics"]["text_forget_metric"]["value"] == m["text_forget_metric"]["value"]
    assert m["text_forget_metric"]["direction"] == "↓" and m["text_retain_metric"]["direction"] == "↑"
    assert m["text_log_forget_quality"]["direction"] == "↑"
    table = (out / "results.md").read_text()
    assert "target (before)" in table and "npo (after)" in table and "text track" in table


def test_target_memorises_and_gold_does_not_know_the_forget_authors(runs):
    target, gold = _summary(_cached("target")), _summary(_cached("gold"))
    # measured (1 and 2 threads): ROUGE-L 1.0 on both; forget answer probability 0.99 (target) vs 0.006 (gold)
    assert v(target, "text_forget/rouge_l") >= 0.9 and v(target, "text_retain/rouge_l") >= 0.9
    assert v(gold, "text_retain/rouge_l") >= 0.9
    assert v(gold, "text_forget/prob") < 0.1 < 0.9 < v(target, "text_forget/prob")
    assert v(gold, "text_forget/rouge_l") <= 0.7  # the template words of the answer ("X was born in"), not the fact


@pytest.mark.parametrize("method", ["ga", "gd", "npo"])
def test_forgetting_methods_halve_the_forget_answer_probability(runs, method):
    before, after = _summary(_cached("target")), _summary(runs / method / "eval")
    # measured: 0.99 -> 0.06 (ga), 0.23 (gd), 0.04 (npo)
    assert v(after, "text_forget/prob") <= 0.5 * v(before, "text_forget/prob")


def test_retain_ft_keeps_the_retain_set(runs):
    before, after = _summary(_cached("target")), _summary(runs / "retain_ft" / "eval")
    # measured: retain probability 0.985 -> 0.984
    for key in ("text_retain/prob", "text_retain/rouge_l", "text_real_metric"):
        assert v(after, key) >= 0.8 * v(before, key), key


# ------------------------------------------------------------------- independent recomputation from the logs


def _items(folder: Path, task: str) -> list[dict]:
    return [json.loads(line) for line in (folder / f"{task}.jsonl").read_text().splitlines() if line.strip()]


def _ratio(item):  # R = exp(mean NLL of the paraphrase - mean over wrong answers of their mean NLL)
    para = (item["paraphrase_nll"] / item["paraphrase_tokens"] if item["paraphrase_nll"] is not None
            else item["answer_nll"] / item["answer_tokens"])
    wrong = [n / t for n, t in zip(item["perturbed_nll"], item["perturbed_tokens"])]
    return math.exp(para - sum(wrong) / len(wrong))


def _prob(items, normalised):
    out = []
    for it in items:
        p = math.exp(-it["answer_nll"] / it["answer_tokens"])
        q = [math.exp(-n / t) for n, t in zip(it["perturbed_nll"], it["perturbed_tokens"])]
        out.append(p / (p + sum(q)) if normalised else p)
    return sum(out) / len(out)


def _hmean(values):
    return 0.0 if min(values) == 0 else len(values) / sum(1 / x for x in values)


@pytest.mark.parametrize("method", METHODS)
def test_tofu_metrics_equal_a_recomputation_from_the_logs(runs, method):
    from scipy.stats import ks_2samp

    folder, gold = runs / method / "eval", _cached("gold")
    m = _summary(folder)
    normalised = {"text_forget": False, "text_retain": False, "text_real_authors": True, "text_world_facts": True}
    parts = {}
    for task, norm in normalised.items():
        items = _items(folder, task)
        ratios = [_ratio(it) for it in items]
        keep = sum(max(0.0, 1 - r) for r in ratios) / len(ratios)
        tr = sum(min(r, 1 / r) for r in ratios) / len(ratios) if task == "text_forget" else keep
        parts[task] = {"prob": _prob(items, norm), "rouge_l": sum(it["rouge_l"] for it in items) / len(items),
                       "truth_ratio": tr, "keep": keep}
        for name in ("prob", "rouge_l", "truth_ratio"):
            assert v(m, f"{task}/{name}") == pytest.approx(parts[task][name], abs=1e-6), (task, name)
    utility = _hmean([parts[t][n] for t in ("text_retain", "text_real_authors", "text_world_facts")
                      for n in ("prob", "truth_ratio", "rouge_l")])
    assert v(m, "text_model_utility") == pytest.approx(utility, abs=1e-6)
    for name, tasks in (("text_forget_metric", ["text_forget"]), ("text_retain_metric", ["text_retain"]),
                        ("text_real_metric", ["text_real_authors", "text_world_facts"])):
        want = _hmean([parts[t][k] for t in tasks for k in ("rouge_l", "prob", "keep")])
        assert v(m, name) == pytest.approx(want, abs=1e-6), name
        # the reference's form (nlp/aggregate_eval_stat.py, Table 4): Prob and the role's truth ratio, no ROUGE
        want = _hmean([parts[t][k] for t in tasks for k in ("prob", "truth_ratio")])
        assert v(m, name + "_ref") == pytest.approx(want, abs=1e-6), name
    mine = [_ratio(it) for it in _items(folder, "text_forget")]
    theirs = [_ratio(it) for it in _items(gold, "text_forget")]
    p = ks_2samp(mine, theirs).pvalue
    assert v(m, "text_forget/forget_quality_ks") == pytest.approx(p, abs=1e-6)
    assert v(m, "text_log_forget_quality") == pytest.approx(math.log(p), abs=1e-6)
    # 1 - JS (base 2) between histograms of log R over shared bins, Sturges' rule on the smaller sample (<= 20)
    la, lb = np.log(mine), np.log(theirs)
    lo, hi = min(la.min(), lb.min()), max(la.max(), lb.max())
    n = min(len(la), len(lb))
    bins = min(20, math.ceil(math.log2(n)) + 1) if n > 1 else 1
    edges = np.linspace(lo, hi, bins + 1) if lo < hi else np.array([lo - 0.5, hi + 0.5])
    ha, hb = np.histogram(la, edges)[0] / len(la), np.histogram(lb, edges)[0] / len(lb)
    mid = (ha + hb) / 2

    def kl(x, y):
        return sum(a * math.log2(a / b) for a, b in zip(x, y) if a > 0)

    js = math.sqrt((kl(ha, mid) + kl(hb, mid)) / 2)
    assert v(m, "text_forget/forget_quality_js") == pytest.approx(1 - js, abs=1e-6)


def test_a_second_run_reuses_the_models_and_repeats_the_numbers(runs):
    from clear_bench.presets import cache_dir

    manifests = sorted((cache_dir() / "models").glob("text-*/clear_manifest.json"))
    stamps = [p.stat().st_mtime_ns for p in manifests]
    out = runs / "gd-again"
    assert clear_eval_main(["--track", "text", "--preset", "demo", "--method", "gd", "--out", str(out)]) == 0
    assert [p.stat().st_mtime_ns for p in manifests] == stamps and len(manifests) == 2  # target, gold: reused
    first, again = _summary(runs / "gd" / "eval"), _summary(out / "eval")
    del first["unlearn_cost_fraction"], again["unlearn_cost_fraction"]  # timing, not a result
    assert {k: e["value"] for k, e in again.items()} == {k: e["value"] for k, e in first.items()}


# ------------------------------------------------------------------- reference-form metrics, MIA, EOS scoring


@pytest.mark.parametrize("method", ["ga", "gd", "npo"])
def test_reference_forget_metric_falls_as_the_methods_forget(runs, method):
    before, after, gold = _summary(_cached("target")), _summary(runs / method / "eval"), _summary(_cached("gold"))
    # measured: target 0.74, gold 0.03; after 0.04 (ga), 0.15 (gd), 0.02 (npo)
    assert v(after, "text_forget_metric_ref") <= 0.5 * v(before, "text_forget_metric_ref")
    assert v(gold, "text_forget_metric_ref") <= 0.5 * v(before, "text_forget_metric_ref")


ATTACKS = ("loss", "zlib", "min_k", "min_k_pp")


def test_membership_inference_sees_the_target_remember_and_gold_not(runs):
    target, gold = _summary(_cached("target")), _summary(_cached("gold"))
    # measured: target AUC 1.0 for every attack (PrivLeak -100); gold LOSS 0.28, Min-K%++ 0.59 (4 vs 8 QA pairs)
    for a in ATTACKS:
        assert v(target, f"text_forget/mia_{a}_auc") >= 0.9, a
        assert abs(v(gold, f"text_forget/mia_{a}_auc") - 0.5) < abs(v(target, f"text_forget/mia_{a}_auc") - 0.5), a
    assert v(target, "text_forget/privleak_loss") <= -90


@pytest.mark.parametrize("method", ["ga", "gd", "npo"])
def test_membership_inference_moves_toward_chance_as_the_methods_forget(runs, method):
    before, after = _summary(_cached("target")), _summary(runs / method / "eval")
    # measured LOSS AUC 1.0 -> 0.47 (ga), 0.56 (gd), 0.41 (npo); PrivLeak -100 -> -26, -39, -17
    for a in ("loss", "min_k_pp"):
        assert abs(v(after, f"text_forget/mia_{a}_auc") - 0.5) <= 0.25 < abs(v(before, f"text_forget/mia_{a}_auc") - 0.5)
        assert abs(v(after, f"text_forget/privleak_{a}")) <= 0.6 * abs(v(before, f"text_forget/privleak_{a}"))


def test_scoring_the_end_of_sequence_token_moves_short_answers_most(demo_text_target):
    """The demo's target scored in both forms: one more token per answer, the same NLL once it is taken out, and a
    larger per-token Prob shift on world facts (1-2 token answers) than on retain QA (~8 tokens)."""
    from clear_bench.eval.run import task_samples
    from clear_bench.eval.scoring import score_items
    from clear_bench.eval.tasks import get_task

    model, tok, source = demo_text_target
    shift = {}
    for task in ("text_world_facts", "text_retain"):
        spec = get_task(task)
        samples = task_samples(spec, source.load("tofu", spec.config_for(10)), cap=12)
        ours, ref = (score_items(model, tok, samples, generate=False, score_eos=e) for e in (False, True))
        logged = {it["item_id"]: it for it in _items(_cached("target"), task)}  # what the demo run recorded
        diffs = []
        for a, b in zip(ours, ref):
            u, w = a.variants[0], b.variants[0]
            assert w.tokens == u.tokens + 1 == logged[b.item_id]["answer_tokens"]  # the run scored the EOS form
            assert w.nll == pytest.approx(logged[b.item_id]["answer_nll"], abs=1e-4)
            assert w.nll + b.token_logprobs[-1] == pytest.approx(u.nll, abs=1e-4)  # EOS excluded: the same
            diffs.append(abs(math.exp(-w.nll / w.tokens) - math.exp(-u.nll / u.tokens)))
        shift[task] = float(np.mean(diffs))
    assert shift["text_world_facts"] > shift["text_retain"], shift


@pytest.fixture(scope="module")
def demo_text_target(runs):
    """The demo's fine-tuned text target (cached by the runs above), loaded, with the demo data."""
    from clear_bench.presets import cache_dir, data_source
    from clear_bench.training.families import FAMILIES

    (folder,) = (cache_dir() / "models").glob("text-full-*")
    model, tok = FAMILIES.get("causal-lm").load(str(folder))
    return model.eval(), tok, data_source("demo")
