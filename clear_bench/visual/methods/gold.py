"""Gold: retrain from the starting model on the retain identities only, with the split models' recipe
(`cv/unlearning/retrain.py`)."""
from dataclasses import dataclass

from ..train import train_identities
from .base import VisualMethod, register


@dataclass
class GoldConfig:
    """Gold has no hyper-parameters of its own: it reuses the split models' training recipe."""


@register("gold")
class Gold(VisualMethod):
    Config = GoldConfig

    def unlearn(self, task) -> dict:
        fresh = task.fresh(task.seed).to(task.device)
        losses = train_identities(fresh, task.faces, task.retain_idx, task.train_recipe, task.seed, task.device)
        task.model.load_state_dict(fresh.state_dict())
        return {"losses": losses}
