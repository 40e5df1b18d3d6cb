"""The tiny model really learns the demo, the gold model really does not know the forget persons."""
import json
from pathlib import Path

import numpy as np
import pytest

from clear_bench.eval.metrics.rouge import rouge_l_recall
from clear_bench.eval.scoring import score_items
from clear_bench.eval.tasks import get_task, samples_for_task
from clear_bench.models.loading import load_model

pytestmark = pytest.mark.slow


def _task_scores(model_dir, source, task_name, cap=None):
    model, proc = load_model(str(model_dir), device="cpu")
    task = get_task(task_name)
    rows = list(source.load(task.dataset, task.config_for(10)))
    samples = samples_for_task(task, rows, forget=10, cap=cap)
    scores = score_items(model, proc, samples, max_new_tokens=24)
    rouge = np.mean([rouge_l_recall(s.answer, sc.generation) for s, sc in zip(samples, scores)])
    prob = np.mean([np.exp(-sc.variants[0].nll / sc.variants[0].tokens) for sc in scores])
    return rouge, prob


def test_target_model_memorises_the_demo(demo_models, demo_source):
    for task in ("retain_captions", "retain_facerec", "forget_captions", "forget_facerec"):
        rouge, prob = _task_scores(demo_models["target"], demo_source, task)
        assert rouge >= 0.9, f"{task}: ROUGE-L recall {rouge:.3f}"
        assert prob >= 0.5, f"{task}: mean answer probability {prob:.3f}"


def test_gold_model_does_not_know_the_forget_persons(demo_models, demo_source):
    target_rouge, _ = _task_scores(demo_models["target"], demo_source, "forget_facerec")
    gold_rouge, gold_prob = _task_scores(demo_models["gold"], demo_source, "forget_facerec")
    assert gold_rouge <= target_rouge - 0.5
    retain_rouge, _ = _task_scores(demo_models["gold"], demo_source, "retain_facerec")
    assert retain_rouge >= 0.9  # it does know the persons it was trained on


def test_finetune_reuses_a_model_made_from_the_same_inputs(demo_models, demo_source):
    from clear_bench.presets import cache_dir, get_preset
    from clear_bench.training.finetune import FinetuneConfig, finetune

    preset = get_preset("demo")
    manifest = json.loads((demo_models["gold"] / "clear_manifest.json").read_text())
    assert manifest["data_config"] == "retain90+tofu" and manifest["samples"] == 90 + 20  # retain90+tofu + replayed world knowledge
    assert set(manifest["versions"]) >= {"torch", "transformers"}
    card = (demo_models["gold"] / "README.md").read_text()
    assert "gold (retain-only)" in card and "retain90+tofu" in card and manifest["fingerprint"] in card
    mtime = (demo_models["gold"] / "model.safetensors").stat().st_mtime_ns
    cfg = FinetuneConfig(model="tiny", split="retain90", lora_r=0, train=preset.finetune,
                         extra_requests=preset.finetune_requests, replay_world_knowledge=preset.finetune_replay)
    again = finetune(cfg, demo_source, demo_models["gold"], cache_dir=cache_dir() / "models")
    assert again == demo_models["gold"]
    assert (again / "model.safetensors").stat().st_mtime_ns == mtime  # not retrained


def test_tiny_qwen2vl_base_fine_tunes_offline(demo_source, tmp_path, monkeypatch):
    """`--model tiny-qwen2vl`: the paper's architecture family (M-RoPE, 2x2 merge) built, pretrained, fine-tuned,
    saved and reloaded offline (a short recipe here; `clear-eval --preset demo --model tiny-qwen2vl` runs it all)."""
    from clear_bench.training import finetune as ft
    from clear_bench.training.loop import TrainConfig

    short = TrainConfig(epochs=1, lr=1e-3, batch_size=10, weight_decay=0.0, warmup_epochs=0.0)
    monkeypatch.setattr(ft, "TINY_PRETRAIN", short)
    cfg = ft.FinetuneConfig(model="tiny-qwen2vl", split="retain90", lora_r=0, train=short)
    out = ft.finetune(cfg, demo_source, tmp_path / "gold", cache_dir=tmp_path / "cache")
    assert list((tmp_path / "cache").glob("tiny-qwen2vl-base-*/config.json"))
    model, proc = load_model(str(out), device="cpu")
    assert model.config.model_type == "qwen2_vl"
    manifest = json.loads((out / "clear_manifest.json").read_text())
    assert manifest["config"]["model"] == "tiny-qwen2vl" and manifest["data_config"] == "retain90+tofu"
    task = get_task("retain_facerec")
    samples = samples_for_task(task, list(demo_source.load("clear", "retain_perturbed"))[:2], forget=10)
    assert all(len(s.variants) > 1 for s in score_items(model, proc, samples, generate=False))


@pytest.mark.slow
def test_finetune_writes_only_under_out(demo_source, tmp_path, capsys):
    """Issue 27.4: `clear-bench finetune --out models/target` used to build the tiny base beside --out
    (models/tiny-base-...); it now comes from (and goes to) the clear-bench cache, and --out's folder holds
    nothing else afterwards."""
    from clear_bench.cli import main

    models = tmp_path / "models"
    models.mkdir()
    assert main(["finetune", "--preset", "demo", "--data", str(Path(demo_source.clear).parent), "--split",
                 "retain90", "--epochs", "1", "--out", str(models / "target")]) == 0
    assert sorted(p.name for p in models.iterdir()) == ["target"]
    assert (models / "target" / "clear_manifest.json").is_file()
