"""Unseen-image attacks (multimodal track): the forget person's image changed so that it is not the one unlearned.

Unlearning a VLM on a person's images may only remove the answers to those pixels: the same face mirrored,
cropped or recoloured can still bring the name and the facts back (issue 23 cites PPU-Bench's cross-image attacks
and "On the robustness of machine unlearning for VLMs"). Each attack applies one deterministic PIL transform to
the image of every forget caption and face-recognition item, and re-scores them (every variant: the forget metric
is defined, as after unlearning) on the unlearned and the gold model:
  - `image-flip`: mirrored left-right (`ImageOps.mirror`);
  - `image-crop`: the central 80 % of each side, resized back (`ImageOps.fit`, bicubic);
  - `image-jitter`: brightness x1.3, contrast x0.7, colour saturation x1.4 (`ImageEnhance`), the kind of colour
    jitter torchvision's `ColorJitter` draws at random, fixed here so that the result is reproducible.
The TOFU QA have no image and are left out.
"""
from __future__ import annotations

from dataclasses import replace

from .base import InputAttack, register

CROP = 0.8
JITTER = {"Brightness": 1.3, "Contrast": 0.7, "Color": 1.4}


def _flip(image):
    from PIL import ImageOps

    return ImageOps.mirror(image)


def _crop(image):
    from PIL import Image, ImageOps

    w, h = image.size
    inner = ImageOps.crop(image, border=(round(w * (1 - CROP) / 2), round(h * (1 - CROP) / 2)) * 2)
    return inner.resize((w, h), Image.Resampling.BICUBIC)


def _jitter(image):
    from PIL import ImageEnhance

    out = image.convert("RGB")
    for name, factor in JITTER.items():
        out = getattr(ImageEnhance, name)(out).enhance(factor)
    return out


TRANSFORMS = {
    "flip": (_flip, "mirrored left-right"),
    "crop": (_crop, f"cropped to the central {CROP:.0%} of each side and resized back"),
    "jitter": (_jitter, "colour-jittered (brightness x1.3, contrast x0.7, saturation x1.4)"),
}


class ImageTransform(InputAttack):
    """The forget items' images transformed with PIL; the forget caption and face tasks re-scored."""

    tracks = ("multimodal",)
    task_names = {"multimodal": ("forget_captions", "forget_facerec")}
    paper = "PPU-Bench's cross-image attacks; 'On the robustness of machine unlearning for VLMs' (issue 23)"

    def __init__(self, kind: str):
        self.kind = kind
        self.name = f"image-{kind}"
        self.fn, self.what = TRANSFORMS[kind]

    @property
    def doc(self) -> str:
        return (f"The forget persons' images {self.what} (PIL), never seen in unlearning; the forget caption and "
                "face tasks re-scored (forget metric, recovery).")

    def settings(self) -> dict:
        return {"transform": self.kind, "what": self.what, **({"crop": CROP} if self.kind == "crop" else {}),
                **({"jitter": JITTER} if self.kind == "jitter" else {})}

    def transform(self, task, samples, ctx=None):
        return [replace(s, image=self.fn(s.image)) if s.image is not None else s for s in samples]


for _kind in TRANSFORMS:
    register(ImageTransform(_kind))
