"""Face-identity pretraining of the paper preset's backbone: ImageNet ResNet-18, then AM-Softmax on a public
celebrity face set (`tonyassi/celebrity-1000`, 997 persons), as the reference's `cv/pretrain.py` and
`cv/prepare_celeb_dataset.py` do: the last 200 persons of a seeded permutation are held out, 100 epochs, SGD
lr 0.1, momentum 0.9, weight decay 5e-4, cosine schedule, batch 256. The images are decoded once at the model's
resolution and cached; the pretrained backbone is part of the split models' cache (their `init.pt`).
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from ..errors import ClearBenchError
from ..utils import stable_hash
from .data import FaceSet, _to_uint8
from .model import FaceNet
from .train import SGDRecipe, train_identities

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PretrainConfig:
    """Attributes:
        dataset: Hub id of a face set with `image` and `label` (identity) columns.
        held_out_persons: identities left out of pretraining (the reference's 200 test persons).
        recipe: the SGD recipe (reference: 100 epochs, lr 0.1, weight decay 5e-4, cosine, batch 256).
        seed: seed of the held-out draw (the reference: numpy RandomState(42)).
    """

    dataset: str = "tonyassi/celebrity-1000"
    held_out_persons: int = 200
    recipe: SGDRecipe = field(default_factory=lambda: SGDRecipe(epochs=100, lr=0.1, batch_size=256,
                                                                 weight_decay=5e-4, schedule="cosine"))
    seed: int = 42


def celebrity_faces(cfg: PretrainConfig, image_size: int, cache) -> FaceSet:
    """The pretraining persons' images (uint8 at `image_size`), cached."""
    path = cache / "visual" / f"pretrain-{stable_hash([asdict(cfg), image_size])}.pt"
    if not path.exists():
        import datasets
        from ..progress import progress_bar

        try:
            ds = datasets.load_dataset(cfg.dataset, split="train")
        except Exception as e:  # offline, missing, gated
            raise ClearBenchError(f"cannot load the pretraining face set '{cfg.dataset}' ({type(e).__name__}: "
                                  f"{str(e)[:150]}); run with --no-pretrain or the demo preset") from None
        labels = np.asarray(ds["label"])
        persons = np.random.RandomState(cfg.seed).permutation(np.unique(labels))
        keep = np.flatnonzero(np.isin(labels, persons[: len(persons) - cfg.held_out_persons]))
        images = np.stack([_to_uint8(ds[int(i)]["image"], image_size) for i in progress_bar(keep, desc="decode celebrities")])
        names = [str(p) for p in np.unique(labels[keep])]
        remap = {int(p): j for j, p in enumerate(np.unique(labels[keep]))}
        blob = {"names": names, "images": torch.from_numpy(images),
                "labels": torch.tensor([remap[int(v)] for v in labels[keep]])}
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(blob, path.with_suffix(".tmp"))
        path.with_suffix(".tmp").replace(path)
    blob = torch.load(path, weights_only=True)
    return FaceSet(blob["names"], blob["images"], blob["labels"], (), (), 0, path.stem)


def pretrain_backbone(backbone, cfg: PretrainConfig, image_size: int, device, cache) -> dict:
    """The backbone's state after AM-Softmax training on the celebrity persons."""
    faces = celebrity_faces(cfg, image_size, cache)
    model = FaceNet(backbone, len(faces.names)).to(device)
    losses = train_identities(model, faces, torch.arange(len(faces.labels)), cfg.recipe, cfg.seed, device)
    log.info("pretrained on %d celebrity persons: final loss %.3f", len(faces.names), losses[-1])
    return {k: v.cpu() for k, v in model.backbone.state_dict().items()}
