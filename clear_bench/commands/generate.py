"""`clear-generate`: build a CLEAR-layout dataset with the generation pipeline.

    clear-generate --preset demo --out DIR [--authors N] [--images-per-author K] [--seed S]
    clear-generate --preset clear --out DIR --work-dir RUN [--push-to-hub USER/REPO]
"""
from __future__ import annotations

import argparse
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    from ..generation.config import PRESETS
    from ..generation.pipeline import STAGES

    p = argparse.ArgumentParser(prog="clear-generate", description=__doc__.strip().splitlines()[0])
    p.add_argument("--preset", default="demo", help=f"one of: {', '.join(PRESETS)} (default: demo)")
    p.add_argument("--out", required=True, type=Path, help="output folder (Hub layout: clear/, tofu/, manifest.json)")
    p.add_argument("--authors", type=int, help="number of authors (default: the preset's)")
    p.add_argument("--images-per-author", type=int, help="scene images per author")
    p.add_argument("--holdout-authors", type=int, help="extra persons that appear only in holdout_perturbed")
    p.add_argument("--image-size", type=int, help="side of the square images in pixels")
    p.add_argument("--seed", type=int, help="global seed (default 0)")
    p.add_argument("--work-dir", type=Path,
                   help="stage cache; a rerun resumes from it (default: OUT.work for the clear preset, "
                        "a temporary folder for the demo)")
    p.add_argument("--force", action="append", default=[], choices=STAGES, metavar="STAGE",
                   help="recompute this stage even if cached (repeatable): " + ", ".join(STAGES))
    p.add_argument("--push-to-hub", metavar="REPO", help="upload the CLEAR configs to this Hub dataset repo "
                                                        "(token from HF_TOKEN or `hf auth login`)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def _summary(result) -> str:
    lines = [f"wrote {result.out_dir}"]
    for dataset, counts in result.counts.items():
        rows = ", ".join(f"{c} {n}" for c, n in counts.items())
        lines.append(f"  {dataset}: {len(counts)} configs ({rows})")
    cached = [n for n, m in result.stages.items() if m["cached"]]
    made = {n: m["items"] for n, m in result.stages.items() if not m["cached"]}
    lines.append("  stages: " + ", ".join(f"{n} {v.get('made', 0)} made/{v.get('resumed', 0)} resumed"
                                          for n, v in made.items() if v.get("made") or v.get("resumed")))
    if cached:
        lines.append(f"  cached: {', '.join(cached)}")
    if result.url:
        lines.append(f"  pushed: {result.url}")
    return "\n".join(lines)


def cmd_generate(args) -> int:
    """Run `clear-generate` from parsed arguments; user errors raise `ClearBenchError`."""
    from ..generation.config import preset
    from ..generation.pipeline import generate

    config = preset(args.preset, seed=args.seed, authors=args.authors, images_per_author=args.images_per_author,
                    holdout_authors=args.holdout_authors, image_size=args.image_size)
    work = args.work_dir or (Path(f"{args.out}.work") if args.preset != "demo" else None)
    result = generate(config, args.out, work_dir=work, progress=not args.quiet, push_to=args.push_to_hub,
                      force=tuple(args.force))
    print(_summary(result))
    return 0
