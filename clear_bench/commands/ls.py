"""`clear-bench ls methods|metrics|tasks|presets|stages|attacks|models|tables`: what each registry holds, one entry
a line (or a few), with its one-line doc; a user never reads source to learn a name or a hyper-parameter."""
from __future__ import annotations

import dataclasses
import sys
import typing

KINDS = ("methods", "metrics", "tasks", "presets", "stages", "attacks", "tables", "models")


def _type_name(t) -> str:
    return getattr(t, "__name__", None) or str(t).replace("typing.", "")


def method_params(cls) -> list[tuple[str, str, object, str]]:
    """(name, type, default, doc) of every field of a method's Config dataclass."""
    from ..config import field_docs
    from ..registry import first_line

    cfg = cls.Config
    hints, docs = typing.get_type_hints(cfg), field_docs(cfg)
    out = []
    for f in dataclasses.fields(cfg):
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        out.append((f.name, _type_name(hints.get(f.name, f.type)), default, first_line(docs.get(f.name, ""))))
    return out


def list_methods(track: str = "multimodal") -> list[str]:
    from ..registry import first_line
    from ..tracks import get_track

    t = get_track(track)
    lines = []
    for name in t.method_names():  # the track's registry, less the methods it refuses (the text track: SISA)
        cls = t.get_method(name)
        doc = first_line(cls) or first_line(sys.modules[cls.__module__].__doc__ or "")  # a one-class module's doc
        lines.append(f"{name:10} {doc or getattr(cls, 'paper', '')}")
        if getattr(cls, "paper", "") and doc:
            lines.append(f"{'':10}   paper: {cls.paper}")
        ignored = getattr(cls, "ignores", ())
        if ignored:
            lines.append(f"{'':10}   ignores: " + ", ".join("--" + n.replace("_", "-") for n in ignored))
        for pname, ptype, default, doc in method_params(cls):
            lines.append(f"{'':10}   --method-arg {pname}=<{ptype}> (default {default!r}){': ' + doc if doc else ''}")
    return lines


def list_metrics(track: str = "multimodal") -> list[str]:
    from ..eval.metrics import METRICS
    from ..registry import first_line

    lines = [f"{'metric':22} {'direction (per role)':31} {'role':15} doc"]
    if track == "visual":
        from ..visual.metrics import METRICS as VISUAL

        return lines + [f"{name:22} {spec.arrow:31} {spec.role:15} {first_line(spec.doc)}"
                        for name, spec in VISUAL.items()]
    for name, spec in METRICS.items():
        if spec.track not in (None, track):
            continue
        if isinstance(spec.higher_is_better, typing.Mapping):
            arrows = " ".join(f"{r}{spec.arrow(r)}" for r in spec.higher_is_better)
        else:
            arrows = spec.arrow()
        how = "" if spec.computed else " [recorded by clear-eval]"
        lines.append(f"{name:22} {arrows:31} {spec.role:15} {first_line(spec.doc)}{how}")
    return lines


def list_tasks(track: str = "multimodal") -> list[str]:
    from ..eval.tasks import get_task
    from ..tracks import get_track

    t = get_track(track)
    if not t.tasks:
        return [f"the {track} track has no evaluation tasks: each split model is scored on the forget, retain and "
                "holdout face sets (`clear-bench ls metrics --track visual`)"]
    optional = set(t.optional_tasks)  # evaluated when the data holds their config (holdout authors)
    return [f"{name:17} {s.role:8} {s.dataset}:{s.config.replace('{forget:02d}', 'NN'):22} "
            f"{'paper task' if s.paper else 'when the data has it' if name in optional else ''}".rstrip()
            for name, s in ((n, get_task(n)) for n in (*t.tasks, *t.optional_tasks))]


def list_presets(track: str = "multimodal") -> list[str]:
    from ..registry import first_line
    from ..tracks import get_track

    lines = []
    for name, p in get_track(track).get_presets().items():
        model = getattr(p, "model", None)
        where = f" (model {model}; data {p.data or 'the Hub'})" if model else ""
        lines.append(f"{name:6} {first_line(p.doc)}{where}")
    return lines


def list_stages() -> list[str]:
    from ..generation import ATTRIBUTE_ESTIMATORS, AUTHOR_SOURCES, CAPTIONERS, FACE_SOURCES, REAL_SETS
    from ..generation.pipeline import STAGES
    from ..generation.scenes import SCENE_RENDERERS

    lines = ["stages, in order: " + " -> ".join(STAGES)]
    for registry in (AUTHOR_SOURCES, FACE_SOURCES, ATTRIBUTE_ESTIMATORS, SCENE_RENDERERS, CAPTIONERS, REAL_SETS):
        for name in registry:
            lines.append(f"{registry.kind:20} {name:14} {registry.doc(name)}")
    return lines


def list_attacks() -> list[str]:
    """Every attack with the tracks it applies to (all tracks: an attack of another track is refused by name)."""
    from ..attacks import ATTACKS, available
    from ..registry import first_line

    from ..attacks.base import DEFAULT_ATTACKS

    lines = []
    for name in available():
        a = ATTACKS[name]
        lines.append(f"{name:15} tracks: {', '.join(a.tracks):18} {first_line(getattr(a, 'doc', '') or a)}")
    return lines + [f"--attacks default = {','.join(DEFAULT_ATTACKS)} (those the run's track takes); --attacks all"]


def list_tables() -> list[str]:
    """The paper tables `clear-bench reproduce TABLE` rebuilds (`published.TABLES`)."""
    from .. import published

    return [f"{name:7} {t['title']}" for name, t in published.TABLES.items()] + ["run one: clear-bench reproduce TABLE [--preset demo|paper] "
                                                        "[--dry-run]"]


def list_models() -> list[str]:
    """The support matrix of the VLM families (`models/architectures.py`, checked by tests/test_families.py)."""
    from ..models.architectures import ARCHITECTURES, CAPABILITIES, HEADERS, UNSUPPORTED

    width = max(len(a.name) for a in ARCHITECTURES)
    tiny = max(len(a.tiny) for a in ARCHITECTURES)
    lines = [f"{'family':{width}}  {'tiny model':{tiny}}  " + "  ".join(HEADERS)]
    refusals = []
    for a in ARCHITECTURES:
        cells = []
        for c, h in zip(CAPABILITIES, HEADERS):
            cells.append(f"{'yes' if a.supports(c) else 'no*':{len(h)}}")
            if not a.supports(c):
                refusals.append(f"* {a.name}, {h}: {getattr(a, c)}")
        lines.append(f"{a.name:{width}}  {a.tiny:{tiny}}  " + "  ".join(cells).rstrip())
    lines += refusals + [f"note: {a.name}: {a.note}" for a in ARCHITECTURES if a.note]
    lines += [f"checkpoints: {a.name}: {', '.join(a.checkpoints)}" for a in ARCHITECTURES]
    lines += [f"not supported: {t}: {why}" for t, why in UNSUPPORTED.items()]
    return lines + ["the causal-LM text track takes any AutoModelForCausalLM (`clear-bench ls presets --track text`)"]


LISTERS = {"methods": list_methods, "metrics": list_metrics, "tasks": list_tasks, "presets": list_presets,
           "stages": list_stages, "attacks": list_attacks, "tables": list_tables, "models": list_models}


def add_parser(sub) -> None:
    from ..tracks import TRACKS

    p = sub.add_parser("ls", help="list registered methods, metrics, tasks, presets, generation stages, attacks, "
                                  "model families or the paper tables `reproduce` rebuilds",
                       description="List a registry: methods with their hyper-parameters (type, default), metrics "
                                   "with their direction (↑ higher is better, ↓ lower, →x closer to x) and role, "
                                   "evaluation tasks, presets, generation stages and backends, attacks with the "
                                   "tracks they apply to, model families with what each supports, the paper tables "
                                   "`clear-bench reproduce` rebuilds.")
    p.add_argument("kind", choices=KINDS, help="what to list")
    p.add_argument("--track", default="multimodal", choices=list(TRACKS),
                   help="methods, metrics, tasks and presets of this track (default: multimodal)")
    p.set_defaults(func=cmd_ls)


def cmd_ls(args) -> int:
    lister = LISTERS[args.kind]
    print("\n".join(lister() if args.kind in ("stages", "attacks", "tables", "models") else lister(args.track)))
    return 0
