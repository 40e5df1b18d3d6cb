"""SISA on the demo data: shards by person, only the shards holding forget rows retrain, exactly, and cheaply.

Shards train for 10 epochs here (the demo recipe: 50) to keep the test short, except in
test_sisa_with_the_demo_recipe_is_near_gold, which runs the demo recipe itself (what `clear-eval --preset demo
--method sisa` runs) and compares it with the gold model.
"""
import numpy as np
import pytest
import torch

from clear_bench.baselines import UnlearnInputs, get_method
from clear_bench.baselines.sisa import person_key, row_key, shard_seed, split_shards, train_shard
from clear_bench.errors import ClearBenchError
from clear_bench.training.unlearn import UnlearnConfig, unlearn

pytestmark = pytest.mark.slow
TASKS = ("forget_captions", "tofu_forget", "retain_captions", "tofu_retain", "holdout_captions", "tofu_holdout")


def _rows(source, config):
    from clear_bench.data.convert import training_samples

    return training_samples(source.load("clear", config), source.clear, config)


def mean_probs(model, processor, source) -> dict[str, float]:
    """Mean answer probability exp(−NLL/|answer|) per task (scored through the shared-prefix KV cache)."""
    from clear_bench.eval.run import evaluate_task, task_samples
    from clear_bench.eval.tasks import get_task

    out = {}
    for name in TASKS:
        task = get_task(name)
        samples = task_samples(task, source.load(task.dataset, task.config_for(10)), forget=10, cap=None)
        records = evaluate_task(model, processor, task, samples, max_new_tokens=0)
        out[name] = float(np.mean([np.exp(-r.answer_nll / r.answer_tokens) for r in records]))
    return out


def test_shards_split_persons_seeded_and_disjoint(demo_source):
    rows = _rows(demo_source, "full+tofu")
    shards = split_shards(rows, 4, seed=42)
    assert sum(len(s) for s in shards) == len(rows)
    persons = [{person_key(r) for r in s} for s in shards]
    assert all(not (a & b) for i, a in enumerate(persons) for b in persons[i + 1:])  # each person in one shard
    assert sorted(len(p) for p in persons) == [5, 5, 5, 5]  # 20 persons dealt round-robin
    assert [[r.item_id for r in s] for s in split_shards(rows, 4, seed=42)] == [[r.item_id for r in s] for s in shards]
    assert persons != [{person_key(r) for r in s} for s in split_shards(rows, 4, seed=7)]
    with pytest.raises(ClearBenchError, match="shards=21"):
        split_shards(rows, 21, seed=0)


@pytest.fixture(scope="module")
def sisa_run(demo_models, demo_source, tmp_path_factory):
    from clear_bench.efficiency import measure
    from clear_bench.models.loading import load_processor
    from clear_bench.presets import cache_dir, get_preset
    from clear_bench.training.finetune import FinetuneConfig, base_model

    preset = get_preset("demo")
    recipe = FinetuneConfig(model="tiny", split="full", lora_r=0, train=preset.finetune,
                            extra_requests=preset.finetune_requests)
    # the target's base; shards in a fresh folder, so that `prepare` really trains them (its cost is compared)
    inputs = UnlearnInputs(forget=_rows(demo_source, "forget10+tofu"), source=demo_source, finetune=recipe,
                           base=base_model(recipe, demo_source, cache_dir() / "models"),
                           cache_dir=tmp_path_factory.mktemp("sisa-cache"), seed=42)
    cls = get_method("sisa")
    method = cls(cls.Config(shards=4, epochs=10))
    with measure() as training:
        method.prepare(None, inputs)
    processor = load_processor(str(demo_models["target"]))
    before = mean_probs(method.original_model(), processor, demo_source)
    original = list(method.original_shards)
    with measure() as unlearning:
        model, result = unlearn(None, processor, method, [], UnlearnConfig(), inputs=inputs)
    return dict(method=method, inputs=inputs, original=original, result=result, before=before,
                after=mean_probs(model, processor, demo_source), training=training.cost, unlearning=unlearning.cost)


def test_only_shards_with_forget_rows_retrain_and_exactly(sisa_run, demo_source):
    info = sisa_run["result"].info["sisa"]
    forget = {row_key(s) for s in sisa_run["inputs"].forget}
    plan = sisa_run["method"].plan
    hit = [k for k, rows in enumerate(plan["shards"]) if any(row_key(r) in forget for r in rows)]
    assert info["retrained"] == hit and 0 < len(hit) < 4
    assert sum(info["rows_per_shard"]) - sum(info["rows_after"]) == len(forget) == 10
    k = hit[0]
    keep = [r for r in plan["shards"][k] if row_key(r) not in forget]
    # exact: the retrained shard is what training its remaining rows from scratch gives
    fresh = train_shard(plan["base"], keep + plan["replay"], plan["recipe"], plan["lora_r"], plan["lora_alpha"],
                        shard_seed(plan["seed"], k))
    served = sisa_run["method"].shards
    assert all(torch.allclose(served[k][n], fresh[n], atol=1e-6) for n in fresh)
    for j in set(range(4)) - set(hit):  # untouched shards are reused as they are
        assert served[j] is sisa_run["original"][j]


def test_unlearned_sisa_knows_forget_persons_no_better_than_never_seen_ones(sisa_run):
    before, after = sisa_run["before"], sisa_run["after"]
    for forget, holdout in (("forget_captions", "holdout_captions"), ("tofu_forget", "tofu_holdout")):
        # the shards did learn the forget persons (measured 2.9x-10x the never-seen persons' probability)
        assert before[forget] > 2 * before[holdout], before
        assert after[forget] < 1.5 * after[holdout], after
    for retain in ("retain_captions", "tofu_retain"):
        # retraining the hit shards without the forget rows keeps most of what they knew (measured 0.77-1.0)
        assert after[retain] > 0.6 * before[retain], (before, after)


def test_unlearning_costs_only_the_retrained_shards(sisa_run):
    # two of four shards retrain, each on 20 of its 25 rows and the 20 replayed world-knowledge rows: about 45 % of
    # training all four
    assert sisa_run["unlearning"].cpu_s < 0.7 * sisa_run["training"].cpu_s


@pytest.fixture(scope="module")
def demo_metrics(demo_models, demo_source, tmp_path_factory):
    """Headline metrics of target, gold and SISA (the demo preset's recipe and defaults: 4 shards, logit ensemble),
    on every task as `clear-eval --preset demo` scores them. Target and gold are the job's own cached evaluations
    (`job.evaluate_target` / `evaluate_gold`), which the suite's other demo clear-eval runs share."""
    from clear_bench.eval.config import EvalConfig
    from clear_bench.eval.run import evaluate
    from clear_bench.job import STEPS, JobConfig, finetune_recipe, resolve, run_steps
    from clear_bench.models.loading import load_model
    from clear_bench.presets import cache_dir, get_preset
    from clear_bench.training.finetune import base_model

    preset = get_preset("demo")
    out = tmp_path_factory.mktemp("sisa-demo")

    def values(summary):
        return {k: summary["metrics"][k]["value"] for k in ("forget_metric", "retain_metric", "real_metric")}

    job = resolve(JobConfig(method="sisa", preset="demo", out=str(out / "job")))
    prepare = ("finetune target", "finetune gold", "evaluate gold", "evaluate target")
    run_steps(job, tuple(s for s in STEPS if s.name in prepare))
    job.run.finish()
    assert (job.target_dir, job.gold_dir) == (demo_models["target"], demo_models["gold"])
    result = {"target": values(job.target_summary), "gold": values(job.gold_summary)}
    recipe = finetune_recipe(preset, "full")
    inputs = UnlearnInputs(forget=_rows(demo_source, "forget10+tofu"), source=demo_source, finetune=recipe,
                           base=base_model(recipe, demo_source, cache_dir() / "models"), cache_dir=cache_dir(),
                           seed=42)
    processor = load_model(str(demo_models["target"]))[1]
    model, _ = unlearn(None, processor, get_method("sisa")(), [], UnlearnConfig(), inputs=inputs)
    result["sisa"] = values(evaluate(model, processor, demo_source, out / "sisa",
                                     EvalConfig(cap=preset.eval_cap, max_new_tokens=preset.max_new_tokens),
                                     progress=False))
    print(result)
    return result


def test_sisa_with_the_demo_recipe_is_near_gold(demo_metrics):
    """Exact unlearning: no weight of the served shards saw a forget row, so SISA forgets as gold does; and every
    shard replays the world knowledge the target's recipe replays, so the real world stays as gold's. Measured
    (1 thread): Forget 0.000 (target 0.867, gold 0.000), Real 0.995 (gold 0.994; 0.000 in the shipped record made
    before the shards replayed it). Retain is SISA's price for shards: each retain person is known to one of the
    4 shard models, and the averaged next-token distribution dilutes it (Retain 0.471 against gold's 0.835; the
    probability of retain answers 0.42-0.72 against gold's 0.96-0.99), so it is held to half of gold's."""
    target, gold, sisa = demo_metrics["target"], demo_metrics["gold"], demo_metrics["sisa"]
    assert sisa["real_metric"] >= gold["real_metric"] - 0.1, demo_metrics
    assert sisa["forget_metric"] <= gold["forget_metric"] + 0.1, demo_metrics
    assert sisa["forget_metric"] < 0.5 * target["forget_metric"], demo_metrics
    assert sisa["retain_metric"] >= 0.5 * gold["retain_metric"], demo_metrics


def test_sisa_without_the_training_data_fails_clearly(tiny_vlm):
    from clear_bench.data.sample import Sample
    from clear_bench.training.unlearn import make_pairs

    base, proc = tiny_vlm
    pairs = make_pairs([Sample("f", "q?", "a.")], [Sample("r", "q?", "b.")], seed=0)
    with pytest.raises(ClearBenchError, match="data source"):
        unlearn(base, proc, get_method("sisa")(), pairs, UnlearnConfig())


def _toy_samples(image):
    from clear_bench.data.sample import Sample

    return [Sample("a", "What can you see in this picture?", "Anna Stone sits at a desk in Lyon.", image=image,
                   perturbed_answers=("Anna Stone was born in Lyon.",)),
            Sample("b", "Where was Anna Stone born?", "Anna Stone was born in Lyon.",
                   perturbed_answers=("Anna Stone sits at a desk.",))]


def test_logit_ensemble_of_copies_scores_and_generates_like_the_model(any_vlm, red_image):
    import copy

    from clear_bench.data.collator import Collator
    from clear_bench.eval.scoring import score_items, stop_token_ids
    from clear_bench.models.ensemble import LogitEnsemble

    model, proc = any_vlm
    model.eval()
    ensemble = LogitEnsemble([model, copy.deepcopy(model)]).eval()
    samples = _toy_samples(red_image)
    enc = Collator(proc).prompts_only(samples)
    with torch.no_grad():
        assert torch.allclose(ensemble(**enc).logits, torch.log_softmax(model(**enc).logits.float(), -1), atol=1e-5)
    kw = dict(max_new_tokens=6, eos_token_id=stop_token_ids(proc), pad_token_id=proc.tokenizer.pad_token_id)
    assert torch.equal(ensemble.generate(**enc, **kw), model.generate(**enc, do_sample=False, **kw))
    mine, ref = (score_items(m, proc, samples, max_new_tokens=6) for m in (ensemble, model))  # shared-prefix cache
    for a, b in zip(mine, ref):
        assert a.generation == b.generation
        assert [round(v.nll, 4) for v in a.variants] == [round(v.nll, 4) for v in b.variants]


def test_lora_shards_store_factors_that_merge_into_the_base(tiny_vlm, red_image, tmp_path):
    from clear_bench.baselines.sisa import deltas, merge_shards
    from clear_bench.models.loading import load_model
    from clear_bench.models.tiny import save_tiny_vlm
    from clear_bench.training.finetune import FinetuneConfig
    from clear_bench.training.loop import TrainConfig

    base = str(save_tiny_vlm(*tiny_vlm, tmp_path / "base"))
    recipe = FinetuneConfig(model=base, train=TrainConfig(epochs=2, lr=5e-3, batch_size=2, warmup_epochs=0))
    shard = train_shard(base, _toy_samples(red_image), recipe, lora_r=4, lora_alpha=8, seed=0)
    assert shard and all(k.rsplit("::", 1)[1] in ("A", "B", "scale") for k in shard)
    before = dict(load_model(base, device="cpu")[0].named_parameters())
    merged = dict(merge_shards(load_model(base, device="cpu")[0], [shard], "sum").named_parameters())
    moved = {n for n in merged if not torch.equal(merged[n], before[n])}
    assert moved and moved <= {n for n, _ in deltas(shard)}  # only LoRA-targeted weights change
    assert all("vision_tower" not in n and "lm_head" not in n for n in moved)
    twice = dict(merge_shards(load_model(base, device="cpu")[0], [shard, shard], "mean").named_parameters())
    assert all(torch.allclose(twice[n], merged[n], atol=1e-6) for n in moved)
