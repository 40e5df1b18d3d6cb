"""Dataset generation: a staged, cached pipeline with swappable backends, and the offline demo.

Plug a backend in by registering it: `FACE_SOURCES`, `ATTRIBUTE_ESTIMATORS`, `SCENE_RENDERERS`,
`AUTHOR_SOURCES`, `REAL_SETS`, `CAPTIONERS` (see each stage module for the protocol).
"""
from .attributes import ATTRIBUTE_ESTIMATORS
from .authors import AUTHOR_SOURCES
from .captions import CAPTIONERS
from .config import PRESETS, GenerationConfig, preset
from .faces import FACE_SOURCES
from .pipeline import GenerationResult, build_demo, generate
from .publish import push_to_hub
from .realsets import REAL_SETS
from .scenes import SCENE_RENDERERS

__all__ = ["ATTRIBUTE_ESTIMATORS", "AUTHOR_SOURCES", "CAPTIONERS", "FACE_SOURCES", "PRESETS", "REAL_SETS",
           "SCENE_RENDERERS", "GenerationConfig", "GenerationResult", "build_demo", "generate", "preset",
           "push_to_hub"]
