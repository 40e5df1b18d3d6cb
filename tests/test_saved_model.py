"""The run keeps its model (issue 27.5): OUT/model holds the unlearned LoRA adapters (or full weights) with a
manifest of checksums; `load_run_model` gives back the model the run scored, and refuses a changed file."""
import json

import pytest
import torch

from clear_bench.errors import ClearBenchError
from clear_bench.training.saved import MODEL_MANIFEST, load_run_model, save_run_model, verify_run_model

CORPUS = ["Anna Stone sits at a desk in Lyon.", "Where was Anna Stone born?", "Anna Stone was born in Lyon."] * 10


@pytest.fixture()
def target(tmp_path):
    """A tiny LLaVA saved as the run's target model, and its processor."""
    from clear_bench.models.tiny import build_tiny_vlm

    model, processor = build_tiny_vlm(CORPUS, vocab_size=300, hidden=32, layers=1)
    folder = tmp_path / "target"
    model.save_pretrained(folder, safe_serialization=True)
    processor.save_pretrained(folder)
    return folder, processor


def _logits(model, processor):
    batch = processor.tokenizer(["Where was Anna Stone born?"], return_tensors="pt")
    with torch.no_grad():
        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits


def _unlearned_lora(target_dir):
    """The target with LoRA adapters moved off zero (as training moves them), merged as `unlearn` merges them."""
    from clear_bench.models.loading import load_model
    from clear_bench.models.lora import apply_lora
    from clear_bench.training.unlearn import adapter_state

    model, processor = load_model(str(target_dir), device="cpu")
    peft = apply_lora(model, r=4, alpha=8)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in peft.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    adapters = adapter_state(peft)
    return peft.merge_and_unload(), processor, adapters


def _save(run, model, processor, adapters, target_dir):
    return save_run_model(run / "model", model, processor, adapters, method="npo", track="multimodal",
                          family="vlm", base_model="tiny", target_dir=target_dir, run={"eval": {"cap": 3}})


def test_lora_adapters_are_saved_unmerged_and_reload_to_the_same_logits(target, tmp_path):
    target_dir, _ = target
    model, processor, adapters = _unlearned_lora(target_dir)
    run = tmp_path / "run"
    _save(run, model, processor, adapters, target_dir)
    m = json.loads((run / "model" / MODEL_MANIFEST).read_text())
    assert m["format"] == "lora" and m["method"] == "npo" and m["run"]["eval"] == {"cap": 3}
    assert set(m["files"]) == {"adapter_config.json", "adapter_model.safetensors"}
    # adapters only: far smaller than the model they apply to
    assert (run / "model" / "adapter_model.safetensors").stat().st_size < \
        (target_dir / "model.safetensors").stat().st_size / 4
    reloaded, proc2, _ = load_run_model(run, device="cpu")
    before = _logits(model, processor)
    assert torch.allclose(_logits(reloaded, proc2), before, atol=1e-5)
    # the adapters moved the model: the reload is not just the target
    from clear_bench.models.loading import load_model

    plain, _ = load_model(str(target_dir), device="cpu")
    assert (_logits(plain, processor) - before).abs().max() > 1e-2


def test_full_weights_are_saved_when_no_adapters_train(target, tmp_path):
    from clear_bench.models.loading import load_model

    target_dir, _ = target
    model, processor = load_model(str(target_dir), device="cpu")
    with torch.no_grad():
        model.get_input_embeddings().weight.mul_(1.5)
    _save(tmp_path / "run", model, processor, None, target_dir)
    reloaded, proc2, m = load_run_model(tmp_path / "run", device="cpu")
    assert m["format"] == "full" and "model.safetensors" in m["files"]
    assert torch.allclose(_logits(reloaded, proc2), _logits(model, processor), atol=1e-6)


def test_a_changed_or_unlisted_file_is_refused_in_one_line(target, tmp_path):
    target_dir, _ = target
    model, processor, adapters = _unlearned_lora(target_dir)
    run = tmp_path / "run"
    _save(run, model, processor, adapters, target_dir)
    weights = run / "model" / "adapter_model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ClearBenchError, match="was changed after the run saved it") as e:
        load_run_model(run)
    assert "\n" not in str(e.value)
    _save(run, model, processor, adapters, target_dir)  # saved again: loads
    verify_run_model(run)
    (run / "model" / "extra.safetensors").write_bytes(b"x")
    with pytest.raises(ClearBenchError, match="does not list"):
        verify_run_model(run)


def test_a_run_without_a_model_or_with_another_target_is_one_line(target, tmp_path):
    target_dir, _ = target
    (tmp_path / "old-run").mkdir()
    with pytest.raises(ClearBenchError, match="holds no saved model"):
        load_run_model(tmp_path / "old-run")
    model, processor, adapters = _unlearned_lora(target_dir)
    _save(tmp_path / "run", model, processor, adapters, target_dir)
    (target_dir / "clear_manifest.json").write_text(json.dumps({"fingerprint": "another-model"}))
    with pytest.raises(ClearBenchError, match="is not the one the adapters"):
        load_run_model(tmp_path / "run")
