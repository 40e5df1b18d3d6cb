"""The text track's membership inference reuses the per-forget-task MIA metrics (`eval/metrics/privacy.py`): with the
holdout authors' QA (`text_holdout`) in a run, forget QA is scored against them; without them the metrics are
absent, not wrong (TOFU on the Hub has no holdout config). tests/test_text_track.py shows them on the trained demo."""
import pytest

from clear_bench.eval.logs import ItemRecord
from clear_bench.eval.metrics import TaskLog
from clear_bench.eval.metrics.privacy import mia_auc, privleak
from clear_bench.eval.tasks import TEXT_TASKS


def _log(task: str, nlls: list[float]) -> TaskLog:
    spec = TEXT_TASKS[task]
    records = tuple(ItemRecord(item_id=f"{task}:{i}", task=task, answer="a b", answer_nll=2 * x, answer_tokens=2,
                               paraphrase_nll=2 * x, paraphrase_tokens=2, perturbed_nll=[4.0], perturbed_tokens=[2],
                               token_logprobs=[-x, -x], token_mu=[-1.0, -1.0], token_sigma=[0.5, 0.5],
                               generation="a", rouge_l=1.0) for i, x in enumerate(nlls))
    return TaskLog(task, spec.role, records, spec.normalized_prob, spec.group)


def test_text_forget_qa_is_scored_against_the_holdout_authors():
    from clear_bench.eval.summary import compute_metrics

    run = {"text_forget": _log("text_forget", [0.1, 0.2, 0.9]), "text_holdout": _log("text_holdout", [0.5, 1.0, 1.5])}
    gold = {"text_forget": _log("text_forget", [1.2, 0.6, 1.4]), "text_holdout": _log("text_holdout", [0.5, 1.0, 1.5])}
    got = {v.key: v.value for v in compute_metrics(run, gold, track="text")[0]}
    member, nonmember = [-0.1, -0.2, -0.9], [-0.5, -1.0, -1.5]  # LOSS score: minus the mean token NLL
    assert got["text_forget/mia_loss_auc"] == pytest.approx(mia_auc(member, nonmember)) == pytest.approx(8 / 9)
    gold_auc = mia_auc([-1.2, -0.6, -1.4], nonmember)
    assert got["text_forget/privleak_loss"] == pytest.approx(privleak(8 / 9, gold_auc))
    assert {"text_forget/mia_min_k_auc", "text_forget/mia_min_k_pp_auc", "text_forget/privleak_min_k"} <= set(got)

    alone = {v.key for v in compute_metrics({"text_forget": run["text_forget"]}, None, track="text")[0]}
    assert not any("mia_" in k or "privleak" in k for k in alone)
