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
