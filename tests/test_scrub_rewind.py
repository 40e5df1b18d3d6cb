"""SCRUB with rewind (SCRUB+R) on the demo models: checkpoints, the restored one, and membership inference."""
import copy
import dataclasses
import shutil

import numpy as np
import pytest

from clear_bench.baselines import UnlearnInputs, get_method
from clear_bench.errors import ClearBenchError
from clear_bench.training.loop import TrainConfig
from clear_bench.training.unlearn import UnlearnConfig, holdout_samples, make_pairs, unlearn

MIA_PAIRS = (("forget_captions", "holdout_captions"), ("forget_facerec", "holdout_facerec"),
             ("tofu_forget", "tofu_holdout"))


def loss_attack_aucs(model, processor, source) -> dict[str, float]:
    """LOSS-attack AUC of each forget task against the holdout task of its group (no generation)."""
    from clear_bench.eval.metrics.privacy import attack_auc
    from clear_bench.eval.run import evaluate_task, task_samples
    from clear_bench.eval.tasks import get_task

    records = {}
    for name in {n for pair in MIA_PAIRS for n in pair}:
        task = get_task(name)
        samples = task_samples(task, source.load(task.dataset, task.config_for(10)), forget=10, cap=None)
        records[name] = evaluate_task(model, processor, task, samples, max_new_tokens=0)
    return {f: attack_auc("loss", records[f], records[h]) for f, h in MIA_PAIRS}


def distance_from_chance(aucs: dict[str, float]) -> float:
    return float(np.mean([abs(a - 0.5) for a in aucs.values()]))


@pytest.fixture(scope="module")
def scrub_runs(demo_models, demo_source):
    """Plain SCRUB and SCRUB+R from the same seed, tuned to over-forget: max-steps in every epoch at lr 1e-2
    (at the demo preset's lr 1e-3 SCRUB barely moves the model: −KL(ref‖θ) has no gradient at θ = ref)."""
    from clear_bench.data.convert import training_samples
    from clear_bench.models.loading import load_model
    from clear_bench.presets import get_preset
    from clear_bench.utils import seed_everything

    src = demo_source
    forget = training_samples(src.load("clear", "forget10+tofu"), src.clear, "forget10+tofu")
    retain = training_samples(src.load("clear", "retain90+tofu"), src.clear, "retain90+tofu")
    inputs = UnlearnInputs(holdout=holdout_samples(src, "both"))
    u = get_preset("demo").unlearn
    cfg = dataclasses.replace(u, train=dataclasses.replace(u.train, lr=1e-2, epochs=10))
    out = {}
    for rewind in (False, True):
        model, proc = load_model(str(demo_models["target"]), device="cpu")
        seed_everything(42)
        cls = get_method("scrub")
        method = cls(cls.Config(max_epochs=10, rewind=rewind))
        model, result = unlearn(model, proc, method, make_pairs(forget, retain, 42), cfg, inputs=inputs)
        out[rewind] = {"result": result, "aucs": loss_attack_aucs(model, proc, src)}
    return out


def test_rewind_keeps_one_checkpoint_per_epoch_and_restores_the_closest(scrub_runs):
    info = scrub_runs[True]["result"].info["rewind"]
    steps = [c["steps"] for c in info["checkpoints"]]
    assert steps == list(range(3, 31, 3))  # 10 items, batch 4: 3 steps an epoch; the final step is one of them
    best = min(info["checkpoints"], key=lambda c: c["gap"])
    assert info["chosen_steps"] == best["steps"] < info["final_steps"] == 30
    final = info["checkpoints"][-1]
    # plain SCRUB over-forgets here: at the end the forget error is far above the never-seen persons' error
    assert final["forget_error"]["image"] > final["validation_error"]["image"] + 1.0
    assert best["gap"] < final["gap"] / 2
    assert "rewind" not in scrub_runs[False]["result"].info


def test_rewind_brings_the_membership_auc_closer_to_chance(scrub_runs):
    plain, rewound = scrub_runs[False]["aucs"], scrub_runs[True]["aucs"]
    # Plain SCRUB leaves the forget persons easy to tell from never-seen ones. Over-forgetting makes their
    # captions and QA look *less* likely than never-seen ones (AUC well below 0.5); names stay above it.
    # Measured (1 thread): plain 0.36 / 0.83 / 0.22, rewound 0.43 / 0.56 / 0.53 (distance 0.25 -> 0.05).
    assert distance_from_chance(plain) > 0.15, plain
    assert plain["forget_captions"] < 0.45 and plain["tofu_forget"] < 0.35, plain
    assert distance_from_chance(rewound) < distance_from_chance(plain) - 0.1, (plain, rewound)


def test_rewind_without_holdout_samples_fails_clearly(tiny_vlm):
    from clear_bench.data.sample import Sample

    base, proc = tiny_vlm
    pairs = make_pairs([Sample("f", "Where was Anna Stone born?", "Lyon.")],
                       [Sample("r", "Where was Anna Stone born?", "Anna Stone was born in Lyon.")], seed=0)
    method = get_method("scrub")(get_method("scrub").Config(rewind=True))
    assert method.needs_holdout and not get_method("scrub")().needs_holdout
    cfg = UnlearnConfig(lora_r=4, train=TrainConfig(epochs=1, batch_size=1, warmup_epochs=0))
    with pytest.raises(ClearBenchError, match="validation set of persons never trained on"):
        unlearn(copy.deepcopy(base), proc, method, pairs, cfg)


def test_job_without_holdout_config_stops_in_one_line(demo_source, tmp_path, capsys):
    from pathlib import Path

    from clear_bench.cli import clear_eval_main

    data = tmp_path / "data"
    shutil.copytree(Path(demo_source.clear).parent, data)
    for half in ("clear", "tofu"):
        shutil.rmtree(data / half / "holdout_perturbed")
    out = tmp_path / "run"
    assert clear_eval_main(["--preset", "demo", "--data", str(data), "--method", "scrub", "--method-arg",
                            "rewind=true", "--out", str(out)]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "holdout_perturbed" in errors[0] and "never-trained persons" in errors[0]
    assert not out.exists()
