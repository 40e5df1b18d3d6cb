"""Model loading is safe (safetensors only, clear errors) and LoRA lands where it should."""
import pytest
import torch

from clear_bench.data.collator import Collator
from clear_bench.data.sample import Sample
from clear_bench.errors import ClearBenchError
from clear_bench.models.loading import load_model
from clear_bench.models.lora import apply_lora, freeze_vision
from clear_bench.models.tiny import save_tiny_vlm


def test_tiny_model_round_trips_through_from_pretrained(tiny_vlm, red_image, tmp_path):
    model, proc = tiny_vlm
    batch = Collator(proc)([Sample("x/0", "What can you see in this picture?", "Anna Stone sits.", image=red_image)])
    save_tiny_vlm(model, proc, tmp_path / "m")
    assert (tmp_path / "m" / "model.safetensors").exists()
    model2, proc2 = load_model(str(tmp_path / "m"), device="cpu")
    batch2 = Collator(proc2)([Sample("x/0", "What can you see in this picture?", "Anna Stone sits.", image=red_image)])
    assert torch.equal(batch["input_ids"], batch2["input_ids"])
    with torch.no_grad():
        assert torch.allclose(model.eval()(**batch).loss, model2.eval()(**batch2).loss, atol=1e-6)


def test_checkpoint_without_weights(tiny_vlm, tmp_path):
    model, proc = tiny_vlm
    model.config.save_pretrained(tmp_path)
    with pytest.raises(ClearBenchError, match=r"has no weights \(\*\.safetensors\)"):
        load_model(str(tmp_path), device="cpu")
    torch.save({}, tmp_path / "pytorch_model.bin")
    with pytest.raises(ClearBenchError, match=r"holds only pickle weights"):
        load_model(str(tmp_path), device="cpu")


def test_mismatched_processor_is_refused(tiny_vlm, tmp_path):
    from clear_bench.models.tiny import build_tiny_vlm

    model, proc = tiny_vlm
    save_tiny_vlm(model, proc, tmp_path / "a")
    import random

    rng = random.Random(0)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(7)) for _ in range(400)]
    big_model, big_proc = build_tiny_vlm([" ".join(words)] * 3, vocab_size=900, hidden=64, layers=1)
    assert len(big_proc.tokenizer) > len(proc.tokenizer)
    save_tiny_vlm(big_model, big_proc, tmp_path / "b")
    with pytest.raises(ClearBenchError, match=r"model and processor do not match"):
        load_model(str(tmp_path / "a"), device="cpu", processor_path=str(tmp_path / "b"))


def test_lora_targets_every_linear_but_lm_head_and_vision(tiny_vlm):
    import copy

    model = copy.deepcopy(tiny_vlm[0])
    freeze_vision(model)
    linear_lm = {n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)
                 and "vision_tower" not in n and not n.endswith("lm_head")}
    peft_model = apply_lora(model, r=4, alpha=8)
    trainable = {n for n, p in peft_model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    assert not any("lm_head" in n or "vision_tower" in n for n in trainable)
    wrapped = {n.rsplit(".lora_A", 1)[0] for n in trainable if ".lora_A" in n}
    assert {w.split("base_model.model.", 1)[-1] for w in wrapped} == linear_lm
    assert any("multi_modal_projector" in n for n in linear_lm)


def test_tiny_qwen2vl_saves_and_reloads_without_torchvision(tiny_qwen, tmp_path, red_image):
    """Saved as a plain Qwen2VLProcessor (a GPU machine loads the full one); here the image-only fallback."""
    import json

    from clear_bench.data.collator import Collator
    from clear_bench.data.sample import Sample
    from clear_bench.models.loading import load_model
    from clear_bench.models.tiny import save_tiny_vlm

    model, proc = tiny_qwen
    save_tiny_vlm(model, proc, tmp_path / "q")
    assert json.loads((tmp_path / "q" / "processor_config.json").read_text())["processor_class"] == "Qwen2VLProcessor"
    loaded, proc2 = load_model(str(tmp_path / "q"), device="cpu")
    s = [Sample("x", "What can you see in this picture?", "Anna Stone sits.", image=red_image)]
    a, b = Collator(proc)(s), Collator(proc2)(s)
    assert all(torch.equal(a[k], b[k]) for k in a if isinstance(a[k], torch.Tensor))
    with torch.no_grad():
        assert torch.allclose(model.eval()(**a).logits, loaded(**b).logits, atol=1e-5)


def test_tokenizer_only_folder_is_refused(tiny_vlm, tmp_path):
    from clear_bench.errors import ClearBenchError
    from clear_bench.models.loading import load_processor

    tiny_vlm[1].tokenizer.save_pretrained(tmp_path / "t")
    (tmp_path / "t" / "config.json").write_text('{"model_type": "llava"}')
    with pytest.raises(ClearBenchError, match="cannot load the processor of .*image processor"):
        load_processor(str(tmp_path / "t"))
