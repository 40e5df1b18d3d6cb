"""Dataset generation: a staged, cached pipeline with swappable backends, and the offline demo."""
from .config import PRESETS, GenerationConfig, preset
from .pipeline import GenerationResult, build_demo, generate
from .publish import push_to_hub

__all__ = ["PRESETS", "GenerationConfig", "GenerationResult", "build_demo", "generate", "preset", "push_to_hub"]
