"""Shared fixtures. Nothing here touches the network: HF offline mode is forced for the whole suite."""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Models, evaluations and demo data of the whole session live in one throw-away cache (~100 MB), removed when the
# session ends (`pytest_unconfigure`; CLEAR_BENCH_TEST_KEEP_CACHE=1 keeps it to look into).
import tempfile  # noqa: E402

SESSION_CACHE = tempfile.mkdtemp(prefix="clear-bench-test-cache-")
os.environ["CLEAR_BENCH_CACHE"] = SESSION_CACHE

import pytest  # noqa: E402


def pytest_unconfigure(config):
    import shutil

    if not os.environ.get("CLEAR_BENCH_TEST_KEEP_CACHE"):
        shutil.rmtree(SESSION_CACHE, ignore_errors=True)


def pytest_collection_modifyitems(items):
    """Every test that uses the fine-tuned demo models (minutes of training, shared by the session) is slow:
    `pytest -m "not slow"` is the fast lane, with no model training."""
    for item in items:
        if "demo_models" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session", autouse=True)
def torch_threads():
    """One CPU thread per test process (CLEAR_BENCH_TEST_THREADS overrides it, e.g. 2 to check that a test's
    margins hold with both thread counts, as the demo's numbers depend on it). Tiny models gain nothing from
    more threads on a shared machine. Set here once, for the whole session, rather than by whichever test
    module happens to be imported first."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(int(os.environ.get("CLEAR_BENCH_TEST_THREADS", "1")))
    yield torch.get_num_threads()
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_vlm():
    """A random tiny LLaVA + processor whose tokenizer knows the test vocabulary."""
    from clear_bench.models.tiny import build_tiny_vlm

    corpus = ["Anna Stone sits at a desk in Lyon.", "Where was Anna Stone born?", "Anna Stone was born in Lyon.",
              "What can you see in this picture?", "The name of the person on the image is "] * 10
    return build_tiny_vlm(corpus, vocab_size=400, hidden=64, layers=2)


@pytest.fixture(scope="session")
def tiny_qwen():
    """A random tiny Qwen2-VL (multimodal rotary positions, Qwen chat format) on the same vocabulary."""
    from clear_bench.models.tiny import build_tiny_qwen2vl

    corpus = ["Anna Stone sits at a desk in Lyon.", "Where was Anna Stone born?", "Anna Stone was born in Lyon.",
              "What can you see in this picture?", "The name of the person on the image is "] * 10
    return build_tiny_qwen2vl(corpus, vocab_size=400)


@pytest.fixture(params=["llava", "qwen2vl"])
def any_vlm(request):
    """Each tiny architecture in turn: LLaVA (plain positions) and Qwen2-VL (M-RoPE)."""
    return request.getfixturevalue("tiny_vlm" if request.param == "llava" else "tiny_qwen")


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
    """Target (full+tofu) and gold (retain90+tofu) tiny models fine-tuned with the demo recipe, in the cache
    folders clear-eval uses (so the suite's clear-eval runs reuse them)."""
    from clear_bench.job import cached_finetune
    from clear_bench.presets import get_preset

    preset = get_preset("demo")
    return {name: cached_finetune(preset, demo_source, split) for name, split in (("target", "full"),
                                                                                  ("gold", "retain90"))}
