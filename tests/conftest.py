"""Shared fixtures. Nothing here touches the network: HF offline mode is forced for the whole suite."""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Models, evaluations and demo data of the whole session live in one throw-away cache.
import tempfile  # noqa: E402

os.environ["CLEAR_BENCH_CACHE"] = tempfile.mkdtemp(prefix="clear-bench-test-cache-")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tiny_vlm():
    """A random tiny LLaVA + processor whose tokenizer knows the test vocabulary."""
    from clear_bench.models.tiny import build_tiny_vlm

    corpus = ["Anna Stone sits at a desk in Lyon.", "Where was Anna Stone born?", "Anna Stone was born in Lyon.",
              "What can you see in this picture?", "The name of the person on the image is "] * 10
    return build_tiny_vlm(corpus, vocab_size=400, hidden=64, layers=2)


@pytest.fixture()
def red_image():
    from PIL import Image

    return Image.new("RGB", (32, 32), (200, 30, 30))


@pytest.fixture(scope="session")
def demo_source():
    """The built-in demo data (generated once per session) as a DataSource."""
    from clear_bench.data.sources import DataSource
    from clear_bench.presets import demo_data_dir

    return DataSource.from_path(demo_data_dir())


@pytest.fixture(scope="session")
def demo_models(demo_source):
    """Target (full+tofu) and gold (retain90+tofu) tiny models fine-tuned with the demo recipe, as clear-eval does."""
    from clear_bench.presets import cache_dir, get_preset
    from clear_bench.training.finetune import FinetuneConfig, finetune

    preset = get_preset("demo")
    out = {}
    for name, split in (("target", "full"), ("gold", "retain90")):
        cfg = FinetuneConfig(model="tiny", split=split, lora_r=0, train=preset.finetune,
                             extra_requests=preset.finetune_requests, replay_world_knowledge=preset.finetune_replay)
        out[name] = finetune(cfg, demo_source, cache_dir() / "fixture-models" / name, cache_dir=cache_dir() / "models")
    return out
