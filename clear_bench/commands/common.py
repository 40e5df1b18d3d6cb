"""Flags several commands share: each defined, documented and validated once here."""
from __future__ import annotations

import argparse

from ..data.schema import DEFAULT_FORGET, FORGET_HELP
from ..data.sources import DATA_HELP, TOFU_HELP  # noqa: F401  (re-exported: their old home)


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
    p.add_argument("--forget", type=int, default=DEFAULT_FORGET, metavar="PERCENT", help=FORGET_HELP)


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
