"""Split models: N face-ID models, each fine-tuned on a seeded random half of the "other" identities plus
one group: the forget persons (splits 0 .. N/2−1) or the holdout persons (N/2 .. N−1), whose roles are then
swapped (the holdout persons are what those splits unlearn). Every unlearning method runs on every split
model; the first half of each group's splits are attack targets, the second half shadows. This is the
reference's protocol (`cv/prepare_vtofu_dataset.py`, `cv/attack.py`, github.com/somvy/multimodal_unlearning;
128 splits there).

Split models are cached by a hash of everything that makes them (face set, backbone, recipe, N, seed) and
shared by every method's run; an interrupted training resumes at the next missing model.
"""
from __future__ import annotations

import itertools
import json
import logging
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ..errors import ClearBenchError
from ..utils import atomic_write_json, derive_seed, stable_hash
from .data import FaceSet
from .model import BackboneConfig, FaceNet, build_backbone
from .train import SGDRecipe, train_identities

log = logging.getLogger(__name__)
SPLITS_VERSION = 1


def check_splits(n: int) -> int:
    if not isinstance(n, int) or n < 4 or n % 2:
        raise ClearBenchError(f"--splits must be an even number of split models, at least 4 (got {n}): half train "
                              "the forget persons, half the holdout persons, each half split into targets and shadows")
    return n


@dataclass(frozen=True)
class SplitPlan:
    """Which identities each split model trains, and which models are targets / shadows for which examples."""

    n: int
    forget: tuple[int, ...]
    holdout: tuple[int, ...]
    retain: tuple[tuple[int, ...], ...]  # the "other" identities split k trains (its retain set)

    @property
    def half(self) -> int:
        return self.n // 2

    def forget_in(self, k: int) -> bool:
        return k < self.half

    def unlearned(self, k: int) -> tuple[int, ...]:
        """The group split k trains and then unlearns (its forget set)."""
        return self.forget if self.forget_in(k) else self.holdout

    def kept_out(self, k: int) -> tuple[int, ...]:
        """The group split k never trains (its holdout set)."""
        return self.holdout if self.forget_in(k) else self.forget

    def members(self, k: int) -> tuple[int, ...]:
        return tuple(sorted(self.unlearned(k) + self.retain[k]))

    @property
    def default_targets(self) -> tuple[int, ...]:
        """The reference's assignment: the first half of each group's split models are the attack targets."""
        t = self.half // 2
        return tuple(range(t)) + tuple(range(self.half, self.half + t))

    def roles(self, group: str, targets: tuple[int, ...] | None = None) -> dict[str, list[int]]:
        """Model indices for examples of `group` ("forget" or "holdout"): in/out shadows and in/out targets.
        An example is IN a model that trained (then unlearned) its identity. `targets`: which models are attack
        targets (N/4 of each half; default `default_targets`), the rest are shadows."""
        chosen = set(self.default_targets if targets is None else targets)
        first, second = list(range(self.half)), list(range(self.half, self.n))
        ins, outs = (first, second) if group == "forget" else (second, first)
        return {"in_targets": [k for k in ins if k in chosen], "in_shadows": [k for k in ins if k not in chosen],
                "out_targets": [k for k in outs if k in chosen], "out_shadows": [k for k in outs if k not in chosen]}

    def assignments(self, limit: int = 40, seed: int = 0) -> list[tuple[int, ...]]:
        """Target/shadow assignments to average an attack over: every choice of N/4 targets in each half when
        there are at most `limit` (8 split models: C(4, 2)² = 36), else `limit` distinct seeded draws. The
        reference's assignment (`default_targets`) is always the first."""
        t = self.half // 2
        first, second = range(self.half), range(self.half, self.n)
        if math.comb(self.half, t) ** 2 <= limit:
            out = [a + b for a in itertools.combinations(first, t) for b in itertools.combinations(second, t)]
            out.remove(self.default_targets)
            return [self.default_targets] + out
        rng, out = random.Random(derive_seed(seed, "visual-assignments")), [self.default_targets]
        seen = set(out)
        while len(out) < limit:
            a = tuple(sorted(rng.sample(first, t))) + tuple(sorted(rng.sample(second, t)))
            if a not in seen:
                seen.add(a)
                out.append(a)
        return out


def make_plan(faces: FaceSet, n: int, seed: int) -> SplitPlan:
    check_splits(n)
    if len(faces.others) < 2:
        raise ClearBenchError(f"the face set has {len(faces.others)} identities outside the forget/holdout groups; "
                              "split models need at least 2 to draw halves from")
    rng = random.Random(derive_seed(seed, "visual-splits"))
    retain = tuple(tuple(sorted(rng.sample(faces.others, len(faces.others) // 2))) for _ in range(n))
    return SplitPlan(n, faces.forget, faces.holdout, retain)


def new_model(backbone_cfg: dict | BackboneConfig, n_identities: int) -> FaceNet:
    """A FaceNet of this shape (random weights; `load_state_dict` fills them)."""
    from transformers import ResNetConfig, ResNetModel

    if isinstance(backbone_cfg, BackboneConfig):
        return FaceNet(build_backbone(backbone_cfg), n_identities)
    return FaceNet(ResNetModel(ResNetConfig(**backbone_cfg)), n_identities)


class SplitModels:
    """A folder of trained split models: plan.json, init.pt (the starting weights) and model_KKK.pt."""

    def __init__(self, folder: Path, plan: SplitPlan, n_identities: int):
        self.folder, self.plan, self.n_identities = folder, plan, n_identities
        self._init = None

    @property
    def init(self) -> dict:
        if self._init is None:
            self._init = torch.load(self.folder / "init.pt", weights_only=True)
        return self._init

    def fresh(self, seed: int) -> FaceNet:
        """The starting model (pretrained backbone) with a new AM-Softmax head drawn from `seed`."""
        model = new_model(self.init["config"], self.n_identities)
        model.backbone.load_state_dict(self.init["backbone"])
        torch.manual_seed(seed)
        model.head.reset_parameters()
        return model

    def load(self, k: int) -> FaceNet:
        model = new_model(self.init["config"], self.n_identities)
        model.load_state_dict(torch.load(self.folder / f"model_{k:03d}.pt", weights_only=True))
        return model

    def train_seconds(self) -> float:
        """Mean wall seconds to train one split model (the retraining cost the efficiency metric divides by)."""
        costs = json.loads((self.folder / "costs.json").read_text())
        return sum(costs.values()) / len(costs)


def _save(obj, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


def cached_split_models(faces: FaceSet, backbone: BackboneConfig, recipe: SGDRecipe, n: int, seed: int, device,
                        cache: Path, progress: bool = True, pretrain=None) -> SplitModels:
    """Train (or reuse) the N split models of this setting; `pretrain` (a `PretrainConfig`) first teaches the
    backbone face identity on another face set."""
    from ..progress import progress_bar

    plan = make_plan(faces, n, seed)
    key = stable_hash([SPLITS_VERSION, faces.fingerprint, asdict(backbone), asdict(recipe.check()), n, seed]
                      + ([asdict(pretrain)] if pretrain is not None else []))
    folder = cache / "visual" / f"splits-{key}"
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(folder / "plan.json", asdict(plan))
    if not (folder / "init.pt").exists():
        torch.manual_seed(seed)
        bb = build_backbone(backbone)
        state = bb.state_dict()
        if pretrain is not None:
            from .pretrain import pretrain_backbone

            state = pretrain_backbone(bb, pretrain, faces.images.shape[-1], device, cache)
        _save({"config": bb.config.to_dict(), "backbone": state}, folder / "init.pt")
    models = SplitModels(folder, plan, len(faces.names))
    costs_path = folder / "costs.json"
    costs = json.loads(costs_path.read_text()) if costs_path.exists() else {}
    todo = [k for k in range(n) if not (folder / f"model_{k:03d}.pt").exists()]
    for k in progress_bar(todo, desc="split models", disable=not progress or not todo):
        t = time.perf_counter()
        model = models.fresh(derive_seed(seed, "visual-head", k)).to(device)
        losses = train_identities(model, faces, faces.indices(plan.members(k)), recipe,
                                  derive_seed(seed, "visual-split", k), device)
        _save({k2: v.cpu() for k2, v in model.state_dict().items()}, folder / f"model_{k:03d}.pt")
        costs[str(k)] = round(time.perf_counter() - t, 3)
        atomic_write_json(costs_path, costs)
        log.debug("split %d: final loss %.3f", k, losses[-1] if losses else float("nan"))
    return models
