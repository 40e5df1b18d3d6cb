"""The attack type and its registry."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..errors import ClearBenchError, UnknownNameError
from ..registry import Registry

# The built-in attack modules (`attacks/<module>.py`), imported on first look-up: listing names imports no torch.
BUILTIN_MODULES = ("quantization", "relearn", "prefill", "paraphrase", "images")


class Attack:
    """One attack: `apply` turns the unlearned (merged) model into the attacked one.

    Attributes:
        name: `--attacks NAME`.
        tracks: the tracks (`tracks.TRACKS`) whose models it applies to.
        paper: where the attack comes from.
    """

    name: ClassVar[str] = ""
    tracks: ClassVar[tuple[str, ...]] = ()
    paper: ClassVar[str] = ""

    def settings(self) -> dict:
        """Everything that changes the attack's result (its cache key, and what attacks.json records)."""
        return {}

    def apply(self, model, processor, ctx: "AttackContext"):
        """The attacked model (may modify `model` in place and return it)."""
        raise NotImplementedError

    def scored_persons(self, ctx: "AttackContext") -> set[str] | None:
        """The forget persons whose items the forget tasks score after the attack (None: every item). A
        relearning attack trains on some forget persons and scores the others."""
        return None

    def info(self) -> dict:
        """What the last `apply` measured or decided (steps taken, layers quantized), for attacks.json."""
        return dict(getattr(self, "_info", {}))

    # What the attack changes: "weights" (`apply` returns another model; every forget and retain task is
    # re-scored) or "inputs" (`InputAttack`: the model is left as it is, the items of `forget_tasks` are changed).
    changes: ClassVar[str] = "weights"

    def forget_tasks(self, track: str) -> tuple[str, ...] | None:
        """The forget tasks whose mean answer probability and ROUGE-L the recovery reads (None: the track's
        default, `run.PROB_TASKS`)."""
        return None

    def keeps(self, record, persons: set[str]) -> bool:
        """Whether a forget task's record is among the scored items of `scored_persons` (its person's)."""
        return record.person in persons


class InputAttack(Attack):
    """An attack on what the model is asked, not on its weights: the forget tasks' items are changed
    (`transform`) and scored on the unlearned model as it is, and the same on gold; the retain tasks are not
    re-scored (the model did not change). `plain_view` turns the ordinary logs of the run, target and gold into
    the quantity the attack measures, where the attack changes it (the prefill: the rest of the answer)."""

    changes = "inputs"
    task_names: ClassVar[dict[str, tuple[str, ...]]] = {}  # track -> the forget tasks whose items it changes

    def forget_tasks(self, track: str) -> tuple[str, ...]:
        return self.task_names.get(track, ())

    def apply(self, model, processor, ctx=None):
        return model

    def transform(self, task, samples: list, ctx: "AttackContext") -> list:
        """The changed samples of `task` (a `TaskSpec`)."""
        raise NotImplementedError

    def plain_view(self, task: str, records: list, attacked: dict) -> list:
        """The ordinary (unattacked) records of `task` as the attack measures them; `attacked`: the attacked
        run's records by item id."""
        return records


@dataclass
class AttackContext:
    """What an attack may read about the run it attacks.

    Attributes:
        track: the run's `tracks.Track`. family: its model family name ("vlm", "causal-lm").
        source: the run's `DataSource`. manifest: the saved model's manifest (`training.saved`).
        identity: the run's identity (its marker: method, modality, forget size, seed, unlearning recipe).
        which: "unlearned" or "gold" (the reference row: the gold model under the same attack).
        device: where the model lives.
    """

    track: Any
    family: str
    source: Any
    manifest: dict
    identity: dict
    which: str = "unlearned"
    device: str | None = None
    extra: dict = field(default_factory=dict)


ATTACKS: Registry[Attack] = Registry("attack")


def register(attack: Attack) -> Attack:
    """Make an `Attack` instance available under its name."""
    if not isinstance(attack, Attack) or not attack.name or not attack.tracks:
        raise TypeError(f"{attack!r} must be an Attack with a name and the tracks it applies to")
    return ATTACKS.add(attack.name, attack)


def _builtin() -> None:
    from importlib import import_module

    for module in BUILTIN_MODULES:
        import_module(f"{__package__}.{module}")


def available() -> list[str]:
    """Every attack name, in registration order."""
    _builtin()
    return ATTACKS.names()


def get_attack(name: str) -> Attack:
    """The attack called `name`; an unknown name is one line naming the valid ones."""
    _builtin()
    if name not in ATTACKS:
        raise UnknownNameError("attack", name, ATTACKS)
    return ATTACKS[name]


# `--attacks default`: the set a run is judged by (issue 23), those of them that apply to the run's track. Measured on
# the demo (2-core machine under load): 10-80 s per attack and re-score against 5-100 s of unlearning.
DEFAULT_ATTACKS = ("quanto-int8", "quanto-int4", "relearn-forget", "relearn-retain")
ALIASES = {"default": "the default set (DEFAULT_ATTACKS) that applies to the track", "all": "every attack that applies"}


def _expand(names: list[str], track: str) -> list[str]:
    out = []
    for name in names:
        if name in ALIASES:
            pool = DEFAULT_ATTACKS if name == "default" else available()
            out += [n for n in pool if track in get_attack(n).tracks]
        else:
            out.append(name)
    return out


def check_attacks(names, track: str) -> list[Attack]:
    """The attacks called `names` (a list, or a comma-separated string; `default` and `all` name sets), each
    applicable to `track`; one line naming the first unknown or inapplicable one, before any work."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    given = list(names)
    names = list(dict.fromkeys(_expand(given, track)))
    if not names and given:
        raise ClearBenchError(f"no attack applies to the {track} track yet (`clear-bench ls attacks` lists each "
                              "attack's tracks)")
    if not names:
        raise ClearBenchError("--attacks is empty; valid attacks: " + ", ".join(available()))
    out = []
    for name in names:
        attack = get_attack(name)
        if track not in attack.tracks:
            raise ClearBenchError(f"attack '{name}' does not apply to the {track} track (it applies to: "
                                  f"{', '.join(attack.tracks)}); `clear-bench ls attacks` lists each attack's tracks")
        out.append(attack)
    return out
