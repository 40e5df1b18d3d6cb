"""The generation pipeline: stages in order, cached in a work folder, published to a Hub layout.

authors -> faces -> attributes -> match -> scenes -> captions -> perturb -> real -> splits -> publish
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..utils import check_replaceable, check_writable
from . import diffusion, tofu_source  # noqa: F401  (register the diffusers and TOFU backends)
from .attributes import ATTRIBUTE_ESTIMATORS, run_attributes
from .authors import AUTHOR_SOURCES, run_authors
from .captions import run_captions
from .config import GenerationConfig, preset
from .faces import FACE_SOURCES, run_faces
from .match import run_match
from .perturb import run_perturb
from .publish import check_card_template, publish, push_to_hub, token_from_env
from .realsets import REAL_SETS, run_real
from .records import Author, Caption, FaceAttributes, FaceCandidate, Match, RealItem, Scene, TableRow
from .scenes import SCENE_RENDERERS, run_scenes
from .splits import run_splits
from .stage import Runner

log = logging.getLogger(__name__)
STAGES = ("authors", "faces", "attributes", "match", "scenes", "captions", "perturb", "real", "splits", "publish")


@dataclass
class GenerationResult:
    """Where the dataset went, the stage results and the row counts per config."""

    out_dir: Path
    counts: dict[str, dict[str, int]]
    stages: dict[str, dict]
    url: str | None = None


def preflight(config: GenerationConfig, out_dir: Path, work_dir: Path | None, push_to: str | None) -> None:
    """Everything that can fail before work starts: numbers, backend names, models, folders, token."""
    config.validate()
    backends = [(AUTHOR_SOURCES, config.author_source, config.author_options),
                (FACE_SOURCES, config.face_source, config.face_options),
                (ATTRIBUTE_ESTIMATORS, config.attribute_estimator, config.attribute_options),
                (SCENE_RENDERERS, config.scene_renderer, config.scene_options),
                (REAL_SETS, config.real_sets, config.real_options)]
    for registry, name, options in backends:
        check = getattr(registry.get(name), "check", None)
        if check:
            check(config, options)
    check_card_template()
    check_replaceable(check_writable(out_dir), "manifest.json")  # a published dataset, or new / empty
    if work_dir is not None:
        check_writable(work_dir)
    if push_to:
        token_from_env()


def generate(config: GenerationConfig, out_dir: str | os.PathLike, work_dir: str | os.PathLike | None = None,
             progress: bool = True, push_to: str | None = None, force: tuple[str, ...] = ()) -> GenerationResult:
    """Run every stage of `config` and publish the dataset to `out_dir`.

    `work_dir` keeps each stage's cache (rerunning resumes from it); None uses a temporary folder
    removed at the end. `push_to` names a Hub dataset repo to upload to (token from HF_TOKEN or `hf auth login`).
    `force` names stages to recompute even when cached.
    """
    from ..progress import progress_bar

    out_dir = Path(out_dir)
    preflight(config, out_dir, Path(work_dir) if work_dir else None, push_to)
    tmp = None
    if work_dir is None:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = work_dir = tempfile.mkdtemp(prefix=f".{out_dir.name}.work-", dir=out_dir.parent)
    runner = Runner(work_dir, config.seed, progress, frozenset(force))
    c = config
    try:
        with progress_bar(total=len(STAGES), desc="generate", disable=not progress) as bar:
            def step(name, *args, **kw):
                bar.set_postfix_str(name)
                result = runner.run(name, *args, **kw)
                bar.update()
                return result

            authors = step("authors", 1, {"source": c.author_source, "options": c.author_options, "n": c.authors,
                                          "holdout": c.holdout_authors}, [], {"authors": Author, "extras": TableRow},
                           lambda ctx: run_authors(ctx, c))
            faces = step("faces", 1, {"source": c.face_source, "options": c.face_options, "k": c.faces_per_author,
                                      "size": c.image_size}, [authors], {"faces": FaceCandidate},
                         lambda ctx: run_faces(ctx, c, authors["authors"]))
            attrs = step("attributes", 1, {"estimator": c.attribute_estimator, "options": c.attribute_options},
                         [faces], {"attributes": FaceAttributes}, lambda ctx: run_attributes(ctx, c, faces["faces"]))
            match = step("match", 1, {"weights": c.match_weights}, [authors, attrs], {"matches": Match},
                         lambda ctx: run_match(ctx, authors["authors"], attrs["attributes"], c.match_weights))
            scenes = step("scenes", 1, {"renderer": c.scene_renderer, "options": c.scene_options,
                                        "k": c.images_per_author, "size": c.image_size}, [authors, faces, match],
                          {"scenes": Scene},
                          lambda ctx: run_scenes(ctx, c, authors["authors"], faces["faces"], match["matches"]))
            caps = step("captions", 1, {"captioner": "template"}, [authors, scenes], {"captions": Caption},
                        lambda ctx: run_captions(ctx, authors["authors"], scenes["scenes"]))
            pert = step("perturb", 1, {"perturber": "rules"}, [authors, caps], {"captions": Caption, "authors": Author},
                        lambda ctx: run_perturb(ctx, authors["authors"], caps["captions"]))
            real = step("real", 1, {"source": c.real_sets, "options": c.real_options, "size": c.image_size}, [],
                        {"items": RealItem}, lambda ctx: run_real(ctx, c))
            splits = step("splits", 1, {"retain_perturbed_authors": c.retain_perturbed_authors},
                          [pert, scenes, real, authors], {"clear": TableRow, "tofu": TableRow},
                          lambda ctx: run_splits(ctx, pert["authors"], scenes["scenes"], pert["captions"],
                                                 real["items"], authors["extras"], c.retain_perturbed_authors))
            bar.set_postfix_str("publish")
            info = {"preset": c.preset, "seed": c.seed, "config": c.to_dict(),
                    "backends": {"authors": c.author_source, "faces": c.face_source,
                                 "attributes": c.attribute_estimator, "scenes": c.scene_renderer,
                                 "real": c.real_sets},
                    "stages": {r.name: r.fingerprint for r in runner.results}}
            face_of = {f.face_id: f.image for f in faces["faces"]}
            matched = {m.author_id: face_of[m.face_id] for m in match["matches"]}
            publish(out_dir, splits.outputs, Path(work_dir), splits.manifest["backend"]["persons"], info,
                    progress=lambda it, **kw: progress_bar(it, disable=not progress, leave=False, **kw),
                    faces={a.name: matched[a.author_id] for a in authors["authors"] if a.author_id in matched})
            bar.update()
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    counts = json.loads((out_dir / "manifest.json").read_text())["counts"]
    url = push_to_hub(out_dir, push_to) if push_to else None
    return GenerationResult(out_dir, counts, {r.name: {**r.manifest, "cached": r.cached} for r in runner.results},
                            url)


def build_demo(out_dir: str | os.PathLike, seed: int = 0, authors: int = 20, images_per_author: int = 3,
               holdout_authors: int = 4, image_size: int = 32, progress: bool = False,
               work_dir: str | os.PathLike | None = None) -> Path:
    """Write the offline procedural demo dataset (CLEAR + TOFU Hub layout) to `out_dir`; return it.

    This is the `demo` preset of the pipeline: same seed, same bytes.
    """
    config = preset("demo", seed=seed, authors=authors, images_per_author=images_per_author,
                    holdout_authors=holdout_authors, image_size=image_size)
    return generate(config, out_dir, work_dir=work_dir, progress=progress).out_dir
