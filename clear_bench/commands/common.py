"""Flags several commands share: each defined, documented and validated once here."""
from __future__ import annotations

import argparse

from ..data.schema import DEFAULT_FORGET, FORGET_SIZES, MODALITIES
TOFU_HELP = "TOFU source: a Hub id or a local copy of locuslab/TOFU (default: the --data folder's tofu/, " \
            "else locuslab/TOFU)"
DATA_HELP = ("CLEAR source: a Hub id, a local copy of therem/CLEAR (as `hf download therem/CLEAR --repo-type dataset "
             "--local-dir DIR` writes it; give TOFU's with --tofu), a folder holding clear/ and tofu/, or 'demo'")


def add_data_args(p: argparse.ArgumentParser, preset: bool = True, required: bool = False) -> None:
    """--preset, --data and --tofu."""
    if preset:
        p.add_argument("--preset", default="paper", help="paper (Hub data, real VLM, GPU) or demo (offline, tiny, CPU)")
    p.add_argument("--data", required=required, default=None,
                   help=DATA_HELP + ("" if required else " (default: the preset's)"))
    p.add_argument("--tofu", default=None, help=TOFU_HELP)


# --forget and --modality are checked by the library (`data.schema.check_forget` / `check_modality`, from the
# configs that hold them), so that a bad value is the same one-line error from Python and from the shell.
def add_forget_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--forget", type=int, default=DEFAULT_FORGET, metavar="PERCENT",
                   help=f"forget-set size in percent: {', '.join(map(str, FORGET_SIZES))} (default: {DEFAULT_FORGET})")


def add_modality_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--modality", default=None, metavar="|".join(MODALITIES),
                   help="forget stream: text (TOFU QA), image (CLEAR images) or both (default: the track's: both on "
                        "multimodal, text on text, image on visual)")


def resolve_source(args, preset):
    """The `DataSource` of a command's --data / --tofu under `preset` (see `presets.data_source`)."""
    from ..presets import data_source

    return data_source(getattr(args, "data", None), getattr(args, "tofu", None), preset.data)


def claim_output(out, kind: str, file: str, starts: str) -> None:
    """An output folder of a command that writes one (`leaderboard`, `transfer`): new or empty, or one of ours of
    `kind` (`runs.claim`); a folder from before markers is ours when its `file` starts with `starts`; a user's
    folder is refused in one line and left as it is."""
    from .. import runs

    def earlier(folder):
        try:
            return (folder / file).read_text().startswith(starts)
        except OSError:
            return False

    runs.claim(out, kind, {}, adopt=earlier).start()
