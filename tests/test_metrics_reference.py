"""The `*_ref` metrics equal what the CLEAR reference code computes as it runs (issue 22.1).

The expected values are computed here, independently of clear_bench's metric code, by transcribing the
reference's formulas (github.com/somvy/multimodal_unlearning at bb14c96):
- `mm/calculate_metrics.py:88-128` `compute_model_utility`: Prob (plain mean on the "eval_log" caption files,
  p / (p + sum q) elsewhere), ROUGE-L mean, Truth Ratio from ONE global mean of the task's perturbed losses
  (line 115, `.mean()` without an axis), min(R', 1/R') on forget files and max(0, 1 - 1/R') elsewhere,
  Model Utility = hmean of every value whose key lacks "Forget";
- `mm/calculate_metrics.py:51-72` `evaluate_forget_quality`: KS p-value and `jensenshannon` of the two
  global-mean truth-ratio vectors of the forget captions;
- `mm/build_vllm_table.py:73-103`: Real / Retain / Forget metric = hmean of (Prob, Truth Ratio) of the split's two
  tasks, Forget Quality = 1 - JS metric.
"""
import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import hmean, ks_2samp

from clear_bench.eval.logs import ItemRecord
from clear_bench.eval.metrics.registry import TaskLog
from clear_bench.eval.summary import compute_metrics
from clear_bench.eval.tasks import get_task

# our task -> the reference's eval file (mm/calculate_metrics.py:75-82)
FILES = {"real_faces": "eval_real_faces_wo_options.json", "real_world": "eval_real_world_wo_options.json",
         "retain_captions": "eval_log.json", "retain_facerec": "eval_retain_facerec.json",
         "forget_captions": "eval_log_forget.json", "forget_facerec": "eval_forget_facerec.json"}
KEY = {"eval_real_faces_wo_options.json": "Real Faces", "eval_real_world_wo_options.json": "Real World",
       "eval_log.json": "Retain", "eval_retain_facerec.json": "Retain FaceRec", "eval_log_forget.json": "Forget",
       "eval_forget_facerec.json": "Forget FaceRec"}
N_ITEMS, N_PERT = 7, 3


def _run(seed: int, shift: float):
    """Per-item logs of the six paper tasks (our records) and the same numbers in the reference's JSON layout."""
    rng = np.random.default_rng(seed)
    tasks, ref = {}, {}
    for name, file in FILES.items():
        spec = get_task(name)
        gt = rng.uniform(0.2, 2.5, N_ITEMS) + (shift if spec.role == "forget" else 0.0)
        para = gt + rng.uniform(-0.3, 0.3, N_ITEMS) if spec.paraphrase else gt
        pert = rng.uniform(0.5, 3.5, (N_ITEMS, N_PERT))  # spread per item: global and per-item means differ
        rouge = rng.uniform(0.1, 1.0, N_ITEMS)
        n = rng.integers(2, 9, N_ITEMS)
        items = tuple(ItemRecord(item_id=f"{name}:{i}", task=name, answer="a b c", answer_nll=gt[i] * n[i],
                                 answer_tokens=int(n[i]),
                                 paraphrase_nll=None if spec.paraphrase is None else para[i] * (n[i] + 1),
                                 paraphrase_tokens=None if spec.paraphrase is None else int(n[i] + 1),
                                 perturbed_nll=list(pert[i] * 4), perturbed_tokens=[4] * N_PERT,
                                 rouge_l=float(rouge[i]))
                      for i in range(N_ITEMS))
        tasks[name] = TaskLog(name, spec.role, items, normalized_prob=spec.normalized_prob, group=spec.group)
        ref[file] = {"avg_gt_loss": dict(enumerate(gt)), "avg_paraphrased_loss": dict(enumerate(para)),
                     "average_perturb_loss": {i: list(pert[i]) for i in range(N_ITEMS)},
                     "rougeL_recall": dict(enumerate(rouge))}
    return tasks, ref


def _arr(d):
    return np.array(list(d.values()))


def _reference_values(ref: dict) -> dict:
    """compute_model_utility as the reference runs it (written out here, not imported)."""
    out = {}
    for file, res in ref.items():
        name = KEY[file]
        true = np.exp(-_arr(res["avg_gt_loss"]))
        if "eval_log" in file:
            out[f"Prob. {name}"] = true.mean()
        else:
            false = np.exp(-_arr(res["average_perturb_loss"]))
            out[f"Prob. {name}"] = np.mean(true / np.concatenate([true[:, None], false], axis=1).sum(-1))
        out[f"ROUGE {name}"] = _arr(res["rougeL_recall"]).mean()
        tr = np.exp(_arr(res["average_perturb_loss"]).mean() - _arr(res["avg_paraphrased_loss"]))
        out[f"Truth Ratio {name}"] = (np.mean(np.minimum(tr, 1 / tr)) if "forget" in file
                                      else np.mean(np.maximum(0, 1 - 1 / tr)))
    out["Model Utility"] = hmean([v for k, v in out.items() if "Forget" not in k])
    return out


def _reference_truth_ratios(res):
    return np.exp(_arr(res["average_perturb_loss"]).mean() - _arr(res["avg_paraphrased_loss"]))


def test_ref_metrics_equal_the_reference_as_it_runs():
    tasks, ref = _run(0, shift=0.0)
    gold_tasks, gold_ref = _run(1, shift=1.0)
    values, skipped = compute_metrics(tasks, gold_tasks, track="multimodal")
    ours = {v.key: v.value for v in values}
    expected = _reference_values(ref)
    table = {"real_metric_ref": ["Prob. Real Faces", "Truth Ratio Real Faces", "Prob. Real World",
                                 "Truth Ratio Real World"],
             "retain_metric_ref": ["Prob. Retain", "Truth Ratio Retain", "Prob. Retain FaceRec",
                                   "Truth Ratio Retain FaceRec"],
             "forget_metric_ref": ["Prob. Forget", "Truth Ratio Forget", "Prob. Forget FaceRec",
                                   "Truth Ratio Forget FaceRec"]}
    for name, keys in table.items():  # mm/build_vllm_table.py:73-100
        assert ours[name] == pytest.approx(hmean([expected[k] for k in keys]), abs=1e-6), name
    assert ours["model_utility_ref"] == pytest.approx(expected["Model Utility"], abs=1e-6)
    for task, file in FILES.items():
        assert ours[f"{task}/truth_ratio_ref"] == pytest.approx(expected[f"Truth Ratio {KEY[file]}"], abs=1e-6)
    mine, gold = _reference_truth_ratios(ref["eval_log_forget.json"]), _reference_truth_ratios(
        gold_ref["eval_log_forget.json"])
    assert ours["forget_captions/forget_quality_js_ref"] == pytest.approx(1 - jensenshannon(mine, gold), abs=1e-6)
    assert ours["forget_captions/forget_quality_ks_ref"] == pytest.approx(ks_2samp(mine, gold).pvalue, abs=1e-6)

    # the fixture separates the reference's global mean from TOFU's per-item mean: the `_ref` numbers are not
    # the per-item ones (before issue 22.1 the `_ref` metrics were these per-item versions)
    for name in ("forget_metric", "retain_metric", "real_metric"):
        assert abs(ours[f"{name}_ref"] - ours[f"{name}_prob_tr"]) > 1e-3, name
    assert abs(ours["forget_captions/forget_quality_js_ref"] - ours["forget_captions/forget_quality_js_paired"]) > 1e-3
    assert abs(ours["model_utility_ref"] - ours["model_utility"]) > 1e-3


def test_per_item_versions_keep_their_own_names():
    """The reference's formulas on TOFU's per-item truth ratio are `*_prob_tr` / `forget_quality_js_paired`."""
    tasks, ref = _run(2, shift=0.0)
    gold_tasks, _ = _run(3, shift=0.5)
    ours = {v.key: v.value for v in compute_metrics(tasks, gold_tasks, track="multimodal")[0]}
    per_item = {t: ours[f"{t}/truth_ratio"] for t in FILES}
    prob = {t: ours[f"{t}/prob"] for t in FILES}
    assert ours["retain_metric_prob_tr"] == pytest.approx(hmean(
        [prob["retain_captions"], per_item["retain_captions"], prob["retain_facerec"], per_item["retain_facerec"]]))
    r = {name: np.exp(np.array([x.paraphrase_mean_nll - np.mean(x.perturbed_mean_nll) for x in t.items]))
         for name, t in (("mine", tasks["forget_captions"]), ("gold", gold_tasks["forget_captions"]))}
    assert ours["forget_captions/forget_quality_js_paired"] == pytest.approx(
        1 - jensenshannon(1 / r["mine"], 1 / r["gold"]))
