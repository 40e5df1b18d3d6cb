"""`clear-bench push RUN --repo ID` (issue 27.6): the run's unlearned model, a model card with every metric and its
direction (target and gold beside it), and the record; to a local folder (offline), or through
`huggingface_hub.HfApi.create_repo` + `upload_folder`."""
import json

import pytest
import torch

from clear_bench.cli import main

CORPUS = ["Anna Stone sits at a desk in Lyon.", "Where was Anna Stone born?", "Anna Stone was born in Lyon."] * 10


@pytest.fixture()
def run(tmp_path):
    """A finished run folder: a tiny LLaVA target, LoRA adapters moved off zero saved as the run's model, and a
    record with a metric, its direction and the target / gold values."""
    from clear_bench.leaderboard.records import make_record, write_record
    from clear_bench.models.loading import load_model
    from clear_bench.models.lora import apply_lora
    from clear_bench.models.tiny import build_tiny_vlm
    from clear_bench.training.saved import save_run_model
    from clear_bench.training.unlearn import adapter_state

    model, processor = build_tiny_vlm(CORPUS, vocab_size=300, hidden=32, layers=1)
    target = tmp_path / "target"
    model.save_pretrained(target, safe_serialization=True)
    processor.save_pretrained(target)
    model, processor = load_model(str(target), device="cpu")
    peft = apply_lora(model, r=4, alpha=8)
    with torch.no_grad():
        for name, p in peft.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=torch.Generator().manual_seed(0)) * 0.5)
    adapters = adapter_state(peft)
    out = tmp_path / "run"
    save_run_model(out / "model", peft.merge_and_unload(), processor, adapters, method="npo", track="multimodal",
                   family="vlm", base_model="tiny", target_dir=target)
    metrics = {"forget_captions/prob": {"value": 0.25, "higher_is_better": False, "direction": "↓",
                                        "role": "forget"}}
    write_record(out / "submission.json", make_record(
        method="npo", modality="both", forget=10, seed=42, config={"preset": "demo", "unlearn": {"lr": 0.001}},
        data={"clear": "therem/CLEAR", "tofu": "locuslab/TOFU"}, model={}, versions={}, metrics=metrics,
        reference={"target": {"forget_captions/prob": 0.9}, "gold": {"forget_captions/prob": 0.3}}))
    return out, processor


def _logits(model, processor):
    batch = processor.tokenizer(["Where was Anna Stone born?"], return_tensors="pt")
    with torch.no_grad():
        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits


def test_push_to_a_folder_writes_adapters_card_and_record(run, tmp_path, capsys):
    from huggingface_hub import ModelCard

    folder, _ = run
    dest = tmp_path / "hub"
    assert main(["push", str(folder), "--repo", "me/npo-clear", "--to-folder", str(dest)]) == 0
    assert sorted(p.name for p in dest.iterdir()) == ["README.md", "adapter_config.json",
                                                        "adapter_model.safetensors", "clear_model.json",
                                                        "submission.json"]
    card = ModelCard.load(dest / "README.md")
    assert "clear-bench" in card.data.tags and card.data.library_name == "peft"
    assert card.data.datasets == ["therem/CLEAR", "locuslab/TOFU"]
    assert "| forget_captions/prob | ↓ | 0.25 | 0.9 | 0.3 |" in card.text
    assert json.loads((dest / "adapter_config.json").read_text())["base_model_name_or_path"] == "tiny"
    assert (dest / "submission.json").read_bytes() == (folder / "submission.json").read_bytes()


def test_push_merged_gives_the_model_the_run_scored(run, tmp_path):
    from clear_bench.models.loading import load_model
    from clear_bench.training.saved import load_run_model

    folder, processor = run
    dest = tmp_path / "hub"
    assert main(["push", str(folder), "--repo", "me/npo-clear", "--merged", "--to-folder", str(dest)]) == 0
    assert (dest / "model.safetensors").is_file() and not (dest / "adapter_config.json").exists()
    pushed, proc = load_model(str(dest), device="cpu")
    scored, _, _ = load_run_model(folder, device="cpu")
    assert torch.allclose(_logits(pushed, proc), _logits(scored, processor), atol=1e-5)


def test_push_uploads_through_huggingface_hub(run, monkeypatch, capsys):
    """The network boundary: `HfApi.create_repo` then `upload_folder` of the staged files (recorded here)."""
    import huggingface_hub

    import clear_bench.data.sources as sources

    calls = []

    class FakeApi:
        def create_repo(self, repo_id, **kw):
            calls.append(("create_repo", repo_id, kw))

        def upload_folder(self, repo_id, folder_path, **kw):
            from pathlib import Path

            calls.append(("upload_folder", repo_id, sorted(p.name for p in Path(folder_path).iterdir()), kw))
            return "https://huggingface.co/me/npo-clear/commit/abc"

    monkeypatch.setattr(sources, "hub_reachable", lambda: True)
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    folder, _ = run
    assert main(["push", str(folder), "--repo", "me/npo-clear", "--private"]) == 0
    assert calls[0] == ("create_repo", "me/npo-clear", {"repo_type": "model", "private": True, "exist_ok": True})
    assert calls[1][0] == "upload_folder" and "README.md" in calls[1][2] and "submission.json" in calls[1][2]


def test_push_offline_or_of_an_unfinished_run_is_one_line(run, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder, _ = run
    assert main(["push", str(folder), "--repo", "me/x"]) == 2
    assert "cannot reach the Hugging Face Hub: push needs the network" in capsys.readouterr().err
    assert main(["push", str(tmp_path), "--repo", "me/x", "--to-folder", str(tmp_path / "d")]) == 2
    assert "holds no submission.json" in capsys.readouterr().err
