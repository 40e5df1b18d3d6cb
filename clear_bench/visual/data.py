"""Face images per identity for the visual track, decoded once and cached as uint8 tensors at the model's
resolution.

- `clear` (paper preset): CLEAR's `full` images grouped by person name (about 19 per person). The forget
  persons are those of CLEAR's `forgetNN` config; the holdout persons are the reference's `holdout_NN`
  lists (`cv/prepare_vtofu_dataset.py`, github.com/somvy/multimodal_unlearning), which are not on the Hub.
- `procedural` (demo preset): the demo data's 3 scene images per person are too few for enrolment (5) plus
  scoring, so every person of the demo data (its `full` persons and as many holdout persons as forget
  persons) gets `images_per_identity` new portraits drawn with the demo generator's face code
  (`generation/faces.py`, `generation/draw.py`): one look per person (skin, hair, style, eyes; distinct
  across persons), and per image another shirt, background, a shifted crop and pixel noise. The demo's
  published configs are not touched.
"""
from __future__ import annotations

import logging
import random
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from ..errors import ClearBenchError
from ..utils import atomic_file, derive_seed, stable_hash

log = logging.getLogger(__name__)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DATA_VERSION = 1  # bump when the images a config produces change

# The reference's holdout persons (cv/prepare_vtofu_dataset.py), nested like CLEAR's forget sets.
HOLDOUT_01 = ("Jambo Mpendulo", "Youssef Al-Zahran")
HOLDOUT_05 = ("Philippe Dauphinee", "Simon Makoni", "Nadia Nowak", "Omowunmi Adebayo", "Rory Greenfield",
              "Raoul Huysmans", "Guillermo Navarro Munoz", "Luis Marcelo Garcia", "Zeynab Nazirova",
              "Sanna Kaarina Laaksonen")
HOLDOUT_10 = ("Marit Hagen", "Simon Makoni", "Sanna Kaarina Laaksonen", "Valentin Fischer", "Philippe Dauphinee",
              "Raoul Huysmans", "Xiang Li", "Adrianus Suharto", "Jaime Vasquez", "Luis Marcelo Garcia",
              "Rhoda Mbalazi", "Omowunmi Adebayo", "Rory Greenfield", "Jambo Mpendulo", "Nadia Nowak",
              "Guillermo Navarro Munoz", "Zeynab Nazirova", "Youssef Al-Zahran", "Adetoun Davis", "Alex Melbourne")
CLEAR_HOLDOUT = {1: HOLDOUT_01, 5: HOLDOUT_05, 10: HOLDOUT_10}


@dataclass(frozen=True)
class FaceDataConfig:
    """Where the face images come from and at which size.

    Attributes:
        kind: "clear" (CLEAR's images by person name) or "procedural" (the demo: portraits drawn per person).
        image_size: side of the square model input, in pixels (paper 224, as the reference's Resize(224)).
        images_per_identity: portraits drawn per person ("procedural" only).
        n_enrol: images per identity whose mean embedding is the identity's enrolment vector (the paper: 5).
        noise: standard deviation of the pixel noise of drawn portraits, in 0-255 units ("procedural" only).
        shift: largest crop offset of drawn portraits, in pixels ("procedural" only).
        seed: seed of the drawn portraits.
    """

    kind: str = "clear"
    image_size: int = 224
    images_per_identity: int = 12
    n_enrol: int = 5
    noise: float = 12.0
    shift: int = 3
    seed: int = 0


@dataclass
class FaceSet:
    """Every image of every identity, with the forget / holdout groups (identity indices)."""

    names: list[str]
    images: torch.Tensor  # uint8 (M, 3, H, W), identities in blocks, dataset order within a block
    labels: torch.Tensor  # long (M,), index into `names`
    forget: tuple[int, ...]
    holdout: tuple[int, ...]
    n_enrol: int
    fingerprint: str
    others: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        groups = set(self.forget) | set(self.holdout)
        self.others = tuple(i for i in range(len(self.names)) if i not in groups)

    @property
    def enrol_mask(self) -> torch.Tensor:
        """True for the first `n_enrol` images of each identity."""
        rank = torch.zeros_like(self.labels)
        seen: dict[int, int] = {}
        for i, y in enumerate(self.labels.tolist()):
            rank[i] = seen.get(y, 0)
            seen[y] = rank[i].item() + 1
        return rank < self.n_enrol

    def indices(self, identities) -> torch.Tensor:
        """Image indices of these identities (dataset order)."""
        ids = torch.as_tensor(sorted(identities), dtype=torch.long)
        return torch.nonzero(torch.isin(self.labels, ids)).flatten()

    def pixels(self, idx: torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
        """Model input for these images: float, ImageNet-normalised."""
        x = self.images[idx].to(device, non_blocking=True).float().div_(255)
        mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1)
        return (x - mean) / std


def _to_uint8(image, size: int) -> np.ndarray:
    from PIL import Image

    im = image.convert("RGB")
    if im.size != (size, size):
        im = im.resize((size, size), Image.BILINEAR)
    return np.asarray(im, dtype=np.uint8).transpose(2, 0, 1)


def _unique(names) -> list[str]:
    return list(dict.fromkeys(names))


def _check_counts(names: list[str], counts: dict[str, int], n_enrol: int, where: str) -> None:
    few = [n for n in names if counts.get(n, 0) <= n_enrol]
    if few:
        raise ClearBenchError(f"{where}: {len(few)} identities have {n_enrol} images or fewer (e.g. '{few[0]}' has "
                              f"{counts.get(few[0], 0)}); face-ID needs {n_enrol} enrolment images plus at least one "
                              "to score per identity")


def _groups(source, forget: int, holdout_names) -> tuple[list[str], list[str]]:
    from ..data.schema import forget_configs

    forget_names = _unique(source.load("clear", forget_configs(forget)["forget"])["name"])
    if not forget_names:
        raise ClearBenchError(f"{source.clear}: config forget{forget:02d} has no persons")
    return forget_names, list(holdout_names)


def clear_faces(cfg: FaceDataConfig, source, forget: int) -> tuple[list[str], np.ndarray, np.ndarray, list, list]:
    """CLEAR's `full` images by person name (the paper preset)."""
    ds = source.load("clear", "full")
    forget_names, holdout_names = _groups(source, forget, CLEAR_HOLDOUT[forget])
    names = _unique(ds["name"])
    missing = [n for n in forget_names + holdout_names if n not in names]
    if missing:
        raise ClearBenchError(f"{source.clear}: the forget/holdout person '{missing[0]}' has no image in config 'full' "
                              f"({len(missing)} missing)")
    counts = {n: 0 for n in names}
    for n in ds["name"]:
        counts[n] += 1
    _check_counts(names, counts, cfg.n_enrol, f"{source.clear} (config full)")
    from ..progress import progress_bar

    order = {n: i for i, n in enumerate(names)}
    rows = sorted(range(len(ds)), key=lambda r: (order[ds[r]["name"]], r))
    images = np.stack([_to_uint8(ds[r]["image"], cfg.image_size) for r in progress_bar(rows, desc="decode faces")])
    labels = np.array([order[ds[r]["name"]] for r in rows])
    return names, images, labels, forget_names, holdout_names


def draw_identities(names: list[str], cfg: FaceDataConfig) -> np.ndarray:
    """`images_per_identity` portraits per name, uint8 (len(names) * k, 3, S, S)."""
    from ..generation.config import GenerationConfig
    from ..generation.draw import BACKGROUNDS, SHIRTS, SKIN, draw_face
    from ..generation.faces import FACE_SOURCES, FaceSpec

    size, pad = cfg.image_size, cfg.shift
    faces = FACE_SOURCES.get("procedural")(GenerationConfig(image_size=size), {})
    specs = []
    for i, name in enumerate(names):
        rng = random.Random(derive_seed(cfg.seed, "visual-identity", name))
        specs.append(FaceSpec(f"v{i:04d}", i, rng.getrandbits(63), rng.choice(("female", "male")),
                              rng.randint(20, 80), rng.choice(sorted(SKIN))))
    looks = faces.plan(specs)  # distinct looks across the identities, as the generator keeps its pool distinct
    out = []
    for name, look in zip(names, looks):
        for j in range(cfg.images_per_identity):
            rng = random.Random(derive_seed(cfg.seed, "visual-image", name, j))
            params = dict(look, shirt=rng.choice(sorted(SHIRTS)), background=rng.choice(sorted(BACKGROUNDS)))
            im = draw_face(params, size + 2 * pad, size + 2 * pad)
            dx, dy = rng.randint(0, 2 * pad), rng.randint(0, 2 * pad)
            arr = np.asarray(im.crop((dx, dy, dx + size, dy + size)), dtype=np.float32)
            noise = np.random.default_rng(derive_seed(cfg.seed, "visual-noise", name, j)).normal(0, cfg.noise, arr.shape)
            out.append(np.clip(arr + noise, 0, 255).astype(np.uint8).transpose(2, 0, 1))
    return np.stack(out)


def procedural_faces(cfg: FaceDataConfig, source, forget: int):
    """The demo's persons, each with drawn portraits."""
    forget_names, _ = _groups(source, forget, ())
    persons = _unique(source.load("clear", "full")["name"])
    try:
        holdout_pool = [n for n in _unique(source.load("clear", "holdout_perturbed")["name"]) if n not in persons]
    except ClearBenchError:
        holdout_pool = []
    if len(holdout_pool) < len(forget_names):
        raise ClearBenchError(f"{source.clear}: {len(forget_names)} forget persons need as many holdout persons "
                              f"(config holdout_perturbed has {len(holdout_pool)} outside 'full')")
    holdout_names = holdout_pool[:len(forget_names)]
    if cfg.images_per_identity <= cfg.n_enrol:
        _check_counts(persons[:1], {persons[0]: cfg.images_per_identity}, cfg.n_enrol, "images_per_identity")
    names = persons + holdout_names
    labels = np.repeat(np.arange(len(names)), cfg.images_per_identity)
    return names, draw_identities(names, cfg), labels, forget_names, holdout_names


LOADERS = {"clear": clear_faces, "procedural": procedural_faces}


def load_faces(cfg: FaceDataConfig, source, forget: int = 10, cache=None) -> FaceSet:
    """The face set of (config, data, forget size); decoded on first use, then read from the cache."""
    from ..presets import cache_dir

    if cfg.kind not in LOADERS:
        raise ClearBenchError(f"unknown face data kind '{cfg.kind}'; valid: {', '.join(LOADERS)}")
    key = stable_hash([DATA_VERSION, asdict(cfg), source.clear, forget])
    path = (cache or cache_dir()) / "visual" / f"faces-{key}.pt"
    if path.exists():
        blob = torch.load(path, weights_only=True)
    else:
        names, images, labels, forget_names, holdout_names = LOADERS[cfg.kind](cfg, source, forget)
        blob = {"names": names, "images": torch.from_numpy(images), "labels": torch.from_numpy(labels).long(),
                "forget": [names.index(n) for n in forget_names], "holdout": [names.index(n) for n in holdout_names]}
        with atomic_file(path) as tmp:
            torch.save(blob, tmp)
        log.info("face set: %d identities, %d images at %dpx -> %s", len(names), len(labels), cfg.image_size, path)
    return FaceSet(list(blob["names"]), blob["images"], blob["labels"], tuple(blob["forget"]), tuple(blob["holdout"]),
                   cfg.n_enrol, key)
