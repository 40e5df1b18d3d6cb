"""Shared fixtures. Nothing here touches the network: HF offline mode is forced for the whole suite."""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

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
