"""Procedural drawing with PIL: portraits, scene backdrops, "real" faces and shape puzzles.

Everything is a pure function of its parameters, so images are byte-identical for a seed.
"""
from __future__ import annotations

import random
from typing import Any

from PIL import Image, ImageDraw

SKIN = {"East Asian": (236, 200, 160), "White": (250, 220, 200), "Black": (110, 70, 45),
        "Indian": (190, 135, 95), "Southeast Asian": (215, 165, 115), "Middle Eastern": (225, 180, 140),
        "Latino Hispanic": (205, 150, 110), "unknown": (220, 175, 135)}
HAIR = {"black": (20, 20, 20), "brown": (110, 65, 30), "blond": (235, 200, 90), "red": (190, 60, 30),
        "grey": (165, 165, 165)}
EYES = {"blue": (40, 90, 230), "green": (30, 170, 60), "brown": (90, 50, 20), "violet": (150, 60, 200)}
SHIRTS = {"red": (210, 40, 40), "blue": (40, 70, 200), "green": (40, 150, 60), "yellow": (230, 210, 40),
          "purple": (130, 50, 160), "orange": (240, 140, 30), "teal": (30, 160, 160), "pink": (240, 130, 180)}
BACKGROUNDS = {"white": (245, 245, 245), "sky": (170, 210, 240), "sand": (230, 215, 170),
               "mint": (190, 235, 200)}
HAIR_STYLES = {"female": ("long", "bun"), "male": ("short", "bald")}


def face_params(gender: str, age: int, ethnicity: str, rng: random.Random) -> dict[str, Any]:
    """Drawing parameters for a face with these attributes; the rest is drawn from `rng`."""
    styles = HAIR_STYLES.get(gender, HAIR_STYLES["female"] + HAIR_STYLES["male"])
    hair = "grey" if age >= 60 else rng.choice([h for h in HAIR if h != "grey"])
    return {"gender": gender, "age": age, "ethnicity": ethnicity, "skin": ethnicity if ethnicity in SKIN else "unknown", "hair": hair,
            "style": rng.choice(styles), "eyes": rng.choice(sorted(EYES)), "shirt": rng.choice(sorted(SHIRTS)),
            "background": rng.choice(sorted(BACKGROUNDS))}


def draw_face(p: dict[str, Any], width: int, height: int) -> Image.Image:
    """A portrait: background, shirt, hair, head, eyes and mouth, scaled to the box."""
    im = Image.new("RGB", (width, height), BACKGROUNDS[p["background"]])
    d = ImageDraw.Draw(im)
    W, H = width - 1, height - 1
    hair, skin = HAIR[p["hair"]], SKIN[p["skin"]]
    if p["style"] == "long":
        d.rectangle([0.12 * W, 0.2 * H, 0.88 * W, 0.8 * H], fill=hair)
    d.rectangle([0, 0.8 * H, W, H], fill=SHIRTS[p["shirt"]])
    d.ellipse([0.2 * W, 0.22 * H, 0.8 * W, 0.74 * H], fill=skin)
    if p["style"] in ("long", "short", "bun"):
        d.chord([0.18 * W, 0.14 * H, 0.82 * W, 0.5 * H], 180, 360, fill=hair)
    if p["style"] == "bun":
        d.ellipse([0.38 * W, 0.04 * H, 0.62 * W, 0.2 * H], fill=hair)
    ey = 0.45 * H
    for x in (0.35 * W, 0.6 * W):
        d.rectangle([x, ey, x + max(1, 0.08 * W), ey + max(1, 0.04 * H)], fill=EYES[p["eyes"]])
    d.line([0.4 * W, 0.62 * H, 0.6 * W, 0.62 * H], fill=(150, 40, 40), width=1)
    return im


def draw_scene(scene: str, width: int, height: int, rng: random.Random) -> Image.Image:
    """A backdrop that makes the scene type recognisable at a few pixels."""
    im = Image.new("RGB", (width, height))
    d = ImageDraw.Draw(im)
    W, H = width - 1, height - 1
    j = rng.randint(-1, 1)  # a little per-image jitter
    if scene == "bookshelf":
        d.rectangle([0, 0, W, H], fill=(100, 60, 30))
        colours = [(200, 40, 40), (40, 80, 200), (40, 160, 60), (230, 200, 40)]
        for row in range(3):
            y0 = row * H / 3 + 1
            for i, x in enumerate(range(1, width - 1, 2)):
                d.rectangle([x, y0, x, y0 + H / 3 - 3], fill=colours[(i + row + j) % 4])
            d.line([0, y0 + H / 3 - 2, W, y0 + H / 3 - 2], fill=(60, 35, 15))
    elif scene == "desk":
        d.rectangle([0, 0, W, H], fill=(235, 230, 210))
        d.rectangle([0, 0.62 * H + j, W, 0.72 * H + j], fill=(120, 75, 35))
        d.rectangle([0.15 * W, 0.72 * H, 0.25 * W, H], fill=(120, 75, 35))
        d.rectangle([0.5 * W, 0.5 * H + j, 0.8 * W, 0.62 * H + j], fill=(250, 250, 250))
    elif scene == "garden":
        d.rectangle([0, 0, W, 0.5 * H], fill=(150, 200, 250))
        d.rectangle([0, 0.5 * H, W, H], fill=(60, 160, 50))
        for k in range(4):
            x, y = (k * 4 + 2 + j) % width, 0.6 * H + (k % 2) * 0.2 * H
            d.rectangle([x, y, x + 1, y + 1], fill=(240, 60, 120))
    elif scene == "window":
        d.rectangle([0, 0, W, H], fill=(200, 180, 150))
        d.rectangle([0.15 * W, 0.2 * H + j, 0.85 * W, 0.7 * H + j], fill=(140, 200, 255))
        d.line([0.5 * W, 0.2 * H + j, 0.5 * W, 0.7 * H + j], fill=(255, 255, 255))
        d.line([0.15 * W, 0.45 * H + j, 0.85 * W, 0.45 * H + j], fill=(255, 255, 255))
    elif scene == "beach":
        d.rectangle([0, 0, W, 0.4 * H], fill=(120, 190, 250))
        d.rectangle([0, 0.4 * H, W, 0.6 * H + j], fill=(20, 90, 200))
        d.rectangle([0, 0.6 * H + j, W, H], fill=(240, 220, 150))
    elif scene == "stage":
        d.rectangle([0, 0, W, H], fill=(25, 20, 35))
        d.rectangle([0, 0, 0.2 * W, H], fill=(170, 20, 30))
        d.rectangle([0.8 * W, 0, W, H], fill=(170, 20, 30))
        d.ellipse([0.3 * W, 0.1 * H + j, 0.7 * W, 0.4 * H + j], fill=(255, 240, 150))
    else:
        raise ValueError(f"no drawing for scene type '{scene}'")
    return im


def compose_scene(face: dict[str, Any], scene: str, size: int, rng: random.Random) -> Image.Image:
    """The person's face on the left half and the scene backdrop on the right half."""
    im = Image.new("RGB", (size, size))
    half = size // 2
    im.paste(draw_face(face, half, size), (0, 0))
    im.paste(draw_scene(scene, size - half, size, rng), (half, 0))
    return im


def draw_real_face(rng: random.Random, size: int) -> Image.Image:
    """A "real person" in another style: full-frame square head on a vertical gradient, with glasses."""
    im = Image.new("RGB", (size, size))
    d = ImageDraw.Draw(im)
    top, bottom = [rng.randint(40, 220) for _ in range(3)], [rng.randint(40, 220) for _ in range(3)]
    for y in range(size):
        t = y / max(1, size - 1)
        d.line([0, y, size, y], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom)))
    S = size - 1
    skin = tuple(rng.randint(90, 250) for _ in range(3))
    d.rectangle([0.2 * S, 0.15 * S, 0.8 * S, 0.85 * S], fill=skin, outline=(0, 0, 0))
    d.rectangle([0.2 * S, 0.1 * S, 0.8 * S, 0.1 * S + rng.randint(2, max(3, size // 5))],
                fill=tuple(rng.randint(0, 120) for _ in range(3)))
    for x in (0.3 * S, 0.55 * S):
        d.rectangle([x, 0.4 * S, x + 0.15 * S, 0.5 * S], outline=(0, 0, 0))
    d.rectangle([0.4 * S, 0.7 * S, 0.6 * S, 0.72 * S], fill=(80, 0, 0))
    return im


SHAPE_COLOURS = {"red": (220, 30, 30), "blue": (30, 60, 220), "green": (30, 170, 50), "yellow": (240, 210, 30)}


def draw_shapes(shapes: list[tuple[str, str]], size: int, rng: random.Random) -> Image.Image:
    """Shapes (kind, colour) on a white canvas, placed on a grid so they never overlap."""
    im = Image.new("RGB", (size, size), (255, 255, 255))
    d = ImageDraw.Draw(im)
    cell = size // 3
    cells = rng.sample(range(9), len(shapes))
    for (kind, colour), c in zip(shapes, cells):
        x, y = (c % 3) * cell + 1, (c // 3) * cell + 1
        box = [x, y, x + cell - 2, y + cell - 2]
        fill = SHAPE_COLOURS[colour]
        if kind == "circle":
            d.ellipse(box, fill=fill)
        elif kind == "square":
            d.rectangle(box, fill=fill)
        else:
            d.polygon([(x + (cell - 2) / 2, y), (x, y + cell - 2), (x + cell - 2, y + cell - 2)], fill=fill)
    return im


def save_png(im: Image.Image, path) -> None:
    """Save a PNG deterministically (no timestamps, fixed compression), atomically."""
    import os
    from pathlib import Path

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    im.save(tmp, format="PNG", optimize=False, compress_level=6)
    os.replace(tmp, path)
