"""The evaluation settings a run's evaluations share, as one typed config (`EvalConfig`)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..config import Flag, check_settings, setting
from ..data.schema import DEFAULT_FORGET
from ..errors import ClearBenchError
from .tasks import DEFAULT_CAP


@dataclass(frozen=True)
class EvalConfig:
    """How `eval.run.evaluate` scores a model. Two evaluations with the same settings, model and data write the
    same per-item logs: run.json's resume keys (`eval.run.RESUME_KEYS`) and the cache key of `job._cached_eval`
    are made of them.

    Attributes:
        forget: forget-set size in percent (1, 5 or 10): the forget / retain / perturbed configs the tasks load.
        cap: items per task, first in dataset order (300: the reference's `ds_size` in `config/mm/eval.yaml`);
            None = all.
        max_new_tokens: greedy generation length for ROUGE-L; 0 skips generation (no ROUGE).
        score_eos: score each answer's end-of-turn token too, as TOFU / OpenUnlearning do (the text track's presets);
            False: the answer's own tokens (the multimodal track's). Recorded in run.json; a folder scored the other
            way is not resumed.
    """

    forget: int = DEFAULT_FORGET
    cap: int | None = DEFAULT_CAP
    max_new_tokens: int = setting(300, ge=0, note="0 = no generation", limit=8192, flag=Flag(
        "greedy generation length; 0 = no generation (default: 300)"))
    score_eos: bool = setting(False, flag=Flag(
        "score each answer's end-of-turn token too, as TOFU and OpenUnlearning do (the text track's form, paper "
        "Table 4; default: the answer's own tokens, the multimodal track's form)", action="store_true"))

    def __post_init__(self) -> None:
        if self.cap is not None and self.cap <= 0:  # here None is every item (the flags' 0: `--cap`)
            raise ClearBenchError(f"cap must be a positive number of items per task or None (got {self.cap})")
        check_settings(self)

    def as_dict(self) -> dict:
        """{forget, cap, max_new_tokens, score_eos}: as records, manifests and cache keys hold them."""
        return dataclasses.asdict(self)


DEFAULT_MAX_NEW_TOKENS = EvalConfig.max_new_tokens  # the scorers' default, declared once above
