"""Metrics of the visual track, registered with their directions (CLEAR Table 5).

Per split model: every image is embedded; each identity's enrolment vector is the normalised mean of its
first `n_enrol` embeddings; an image's identity is the nearest enrolment vector by cosine (accuracy on the
images after the enrolment ones, `cv/score.py`), and its score is `attacks.logit_score` of the cosine to its
own identity's enrolment vector (every image, `cv/attack.py`). Accuracies are averaged over the split models
(each with its own forget / holdout / retain identities); the attacks read the scores of all of them.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..registry import Registry
from .attacks import logit_score, ulira_accuracy, umia_accuracy
from .data import FaceSet
from .splits import SplitPlan


@torch.no_grad()
def embed(model, faces: FaceSet, device, batch_size: int = 256) -> torch.Tensor:
    model.eval()
    idx = torch.arange(len(faces.labels))
    return torch.cat([model(faces.pixels(b, device)).float().cpu() for b in idx.split(batch_size)])


def enrolment(emb: torch.Tensor, labels: torch.Tensor, enrol_mask: torch.Tensor, n_identities: int) -> torch.Tensor:
    """(n_identities, D): the normalised mean embedding of each identity's enrolment images."""
    sums = torch.zeros(n_identities, emb.shape[1], dtype=emb.dtype).index_add_(0, labels[enrol_mask],
                                                                              emb[enrol_mask])
    return F.normalize(sums, dim=1)  # normalising the sum = normalising the mean


def face_id(emb: torch.Tensor, labels: torch.Tensor, enrol_mask: torch.Tensor, n_identities: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """(score, predicted identity) per image: the logit score against its own enrolment vector, and the
    identity of the nearest enrolment vector."""
    ref = enrolment(emb, labels, enrol_mask, n_identities)
    cos = F.normalize(emb, dim=1) @ ref.T
    own = cos[torch.arange(len(labels)), labels]
    return logit_score(own.numpy()), cos.argmax(1).numpy()


def accuracy(pred: np.ndarray, labels: np.ndarray, mask: np.ndarray) -> float:
    return float(np.mean(pred[mask] == labels[mask])) if mask.any() else float("nan")


@dataclass
class RunScores:
    """What the metrics read: per split model (rows) and image (columns) the score and the predicted identity."""

    scores: np.ndarray  # float (N, M)
    preds: np.ndarray  # int (N, M)
    faces: FaceSet
    plan: SplitPlan
    targets: tuple[int, ...] | None = None  # the attacks' target models (None: the plan's default assignment)
    _spreads: dict = field(default_factory=dict, repr=False, compare=False)

    def group_mask(self, identities) -> np.ndarray:
        return np.isin(self.faces.labels.numpy(), list(identities))


@dataclass(frozen=True)
class VisualMetric:
    name: str
    fn: Callable[[RunScores], float]
    higher_is_better: bool | None
    ideal: float | None
    role: str
    doc: str
    bounds: tuple[float | None, float | None] = (0.0, 1.0)  # every visual metric is an accuracy

    @property
    def arrow(self) -> str:
        return {True: "↑", False: "↓"}.get(self.higher_is_better, f"→{self.ideal}")


METRICS: Registry[VisualMetric] = Registry("visual metric", unique=True)


def register(name: str, higher_is_better: bool | None, role: str, ideal: float | None = None):
    def deco(fn):
        METRICS.add(name, VisualMetric(name, fn, higher_is_better, ideal, role, (fn.__doc__ or "").strip()))
        return fn

    return deco


def get_metric(name: str) -> VisualMetric:
    return METRICS.get(name)


def _mean_accuracy(run: RunScores, group: Callable[[int], tuple]) -> float:
    labels, scored = run.faces.labels.numpy(), ~run.faces.enrol_mask.numpy()
    return float(np.mean([accuracy(run.preds[k], labels, scored & run.group_mask(group(k)))
                          for k in range(run.plan.n)]))


@register("forget_acc", False, "forget")
def forget_acc(run: RunScores) -> float:
    """Face-ID accuracy on the identities each split model unlearned (mean over split models)."""
    return _mean_accuracy(run, run.plan.unlearned)


@register("holdout_acc", True, "holdout")
def holdout_acc(run: RunScores) -> float:
    """Face-ID accuracy on the identities each split model never trained on."""
    return _mean_accuracy(run, run.plan.kept_out)


@register("retain_acc", True, "retain")
def retain_acc(run: RunScores) -> float:
    """Face-ID accuracy on each split model's retain identities."""
    return _mean_accuracy(run, lambda k: run.plan.retain[k])


def attack_sets(run: RunScores) -> list[dict[str, np.ndarray]]:
    """Per group (forget, holdout): the examples' scores under each role's models, (examples, models)."""
    out = []
    for group, ids in (("forget", run.plan.forget), ("holdout", run.plan.holdout)):
        rows = run.group_mask(ids)
        out.append({role: run.scores[models][:, rows].T
                    for role, models in run.plan.roles(group, run.targets).items()})
    return out


@register("ulira", None, "forget", ideal=0.5)  # a target value, not ↓ (issue 22.3)
def ulira(run: RunScores) -> float:
    """U-LIRA accuracy: per example, IN (trained then unlearned) vs OUT Gaussians from the shadow models; 0.5 =
    the unlearned models look like models that never saw the identity."""
    correct = total = 0
    for s in attack_sets(run):
        targets = np.concatenate([s["in_targets"], s["out_targets"]], axis=1)
        is_in = np.zeros(targets.shape, dtype=bool)
        is_in[:, : s["in_targets"].shape[1]] = True
        acc = ulira_accuracy(s["in_shadows"], s["out_shadows"], targets, is_in)
        correct, total = correct + acc * targets.size, total + targets.size
    return correct / total


def _umia(run: RunScores, model: str) -> float:
    sets = attack_sets(run)
    shadow = np.concatenate([np.concatenate([s["in_shadows"].ravel(), s["out_shadows"].ravel()]) for s in sets])
    shadow_in = np.concatenate([np.r_[np.ones(s["in_shadows"].size), np.zeros(s["out_shadows"].size)] for s in sets])
    target = np.concatenate([np.concatenate([s["in_targets"].ravel(), s["out_targets"].ravel()]) for s in sets])
    target_in = np.concatenate([np.r_[np.ones(s["in_targets"].size), np.zeros(s["out_targets"].size)] for s in sets])
    return umia_accuracy(shadow, shadow_in, target, target_in, model=model)


@register("umia", None, "forget", ideal=0.5)  # a target value, not ↓ (issue 22.3)
def umia(run: RunScores) -> float:
    """U-MIA accuracy: one logistic regression on every shadow score, tested on the targets; 0.5 ideal."""
    return _umia(run, "logistic")


@register("umia_tree", None, "forget", ideal=0.5)  # a target value, not ↓ (issue 22.3)
def umia_tree(run: RunScores) -> float:
    """U-MIA with the reference's decision tree (256 leaves, entropy criterion) instead."""
    return _umia(run, "tree")


# ------------------------------------------------------------------- spread over target/shadow assignments
ASSIGNMENTS = 40  # at most this many target/shadow assignments (all of them when there are fewer: 36 at 8 splits)


def over_assignments(run: RunScores, attack: str) -> np.ndarray:
    """`attack`'s accuracy under each of `SplitPlan.assignments` (the first is the reported single value), from
    the same split-model scores: nothing retrains. At demo scale each example's Gaussians are fitted to 2
    shadow scores per side, so which models are targets moves U-LIRA by about ±0.07 (issue 22.4)."""
    if attack not in run._spreads:
        fn = get_metric(attack).fn
        run._spreads[attack] = np.array([fn(replace(run, targets=a, _spreads={}))
                                         for a in run.plan.assignments(ASSIGNMENTS)])
    return run._spreads[attack]


SPREAD_STATS = {
    "mean": ("mean over target/shadow assignments", np.mean),
    "min": ("lowest over target/shadow assignments", np.min),
    "max": ("highest over target/shadow assignments", np.max),
    "lo": ("2.5th percentile over target/shadow assignments (the central 95 % starts here)",
           lambda v: np.percentile(v, 2.5)),
    "hi": ("97.5th percentile over target/shadow assignments (the central 95 % ends here)",
           lambda v: np.percentile(v, 97.5)),
}


def _register_spread(attack: str, stat: str) -> None:
    what, reduce = SPREAD_STATS[stat]
    base = get_metric(attack)

    def fn(run: RunScores) -> float:
        return float(reduce(over_assignments(run, attack)))

    fn.__doc__ = f"{attack}: {what}."
    register(f"{attack}_{stat}", base.higher_is_better, base.role, ideal=base.ideal)(fn)


for _attack in ("ulira", "umia", "umia_tree"):
    for _stat in SPREAD_STATS:
        _register_spread(_attack, _stat)


def compute(run: RunScores, names=None) -> dict[str, dict]:
    """Summary entries (the shape the multimodal summaries use) of every registered metric, or of `names`."""
    out = {}
    for name in names or METRICS:
        spec = get_metric(name)
        value = spec.fn(run)
        out[name] = {"value": None if value != value else round(float(value), 6), "metric": name, "task": None,
                     "role": spec.role, "higher_is_better": spec.higher_is_better, "ideal": spec.ideal,
                     "direction": spec.arrow}
    return out
