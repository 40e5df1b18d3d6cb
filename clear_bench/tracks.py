"""The tracks of CLEAR, one registry: what each leaderboard runs, on which model family, judged by what.

A track is a registered configuration of a recipe (torchtune's recipe + config, lm-evaluation-harness's tasks as
data): the CLI, `clear-bench ls KIND --track T`, the leaderboard, `transfer`, `--seeds` and
`scripts/make_baselines.py` read it, and nothing guesses a track from names. Two recipes serve three tracks:
  - "lm": the job of named steps in `job.py` (fine-tune target and gold, evaluate, unlearn, evaluate), for the
    multimodal track (a VLM on CLEAR + TOFU) and the text track (a causal LM on TOFU);
  - "split-model": `visual/job.py` (split face-ID models judged by U-LIRA / U-MIA).

This module is data only (names and keys, no imports of the layers that use it), so every layer may read it.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import ClearBenchError, UnknownNameError
from .registry import Registry


@dataclass(frozen=True)
class Board:
    """What a track's leaderboard section shows: its columns (metric key, header), which column is the forget
    and which the retain score (the plot's axes), the keep score whose collapse marks a row, the default sort."""

    title: str
    columns: tuple[tuple[str, str], ...]
    forget: str
    retain: str
    sort: str
    keep: str


# clear-eval flags every track reads (the CLI refuses any other flag a track does not list in `flags`)
COMMON_FLAGS = frozenset({"method", "method_arg", "forget", "preset", "data", "seed", "seeds", "out", "track", "threads",
                          "verbose", "config"})
LM_FLAGS = COMMON_FLAGS | {"modality", "tofu", "model", "lora_r", "l1_lambda", "epochs", "lr", "batch_size", "cap",
                           "compile", "trust_remote_code", "attacks", "allow_unmemorised", "sequence", "vary"}


@dataclass(frozen=True)
class Track:
    """One track.

    Attributes:
        name: `--track NAME`, and `record["track"]` of its leaderboard records.
        recipe: "lm" (`job.py`'s steps) or "split-model" (`visual/job.py`).
        family: the model family (`training/families.py` for the LM recipe): "vlm", "causal-lm" or "face-id".
        tasks: its evaluation tasks (`eval/tasks.py`), in report order; () for the split-model recipe, whose
            forget / retain / holdout face sets are not tasks.
        tasks_by_data: evaluate those of `tasks` whose configs the data holds (the Hub has no holdout persons).
        optional_tasks: tasks evaluated besides `tasks` when the data holds their configs (the text track's holdout
            authors, for membership inference: TOFU on the Hub has none).
        headline: (metric key, label, direction) of the metrics a reader looks at first: the run's plot bars.
        board: the leaderboard section (`Board`).
        presets: "module:NAME" of its presets registry.
        methods: the module of its method registry (its `available()` and `get_method(name)`).
        metrics: "module:NAME" of its metric registry (entries with `bounds`).
        modalities: the forget streams it can unlearn, the default first.
        default_method: the method `clear-eval --track NAME` runs without --method.
        flags: the clear-eval flags it honours (`COMMON_FLAGS` and its own); any other flag given is refused.
        summary: where a run folder holds its metrics (a summary.json), for `--seeds` and the grid script.
        forget_data, retain_data: (dataset, config key of `data.schema.forget_configs`) of the forget and retain
            streams the LM recipe pairs.
        identity_data: config keys (dataset, "{key}" or a literal config) fingerprinted into a run's identity.
        cache_prefix: prefix of its cached evaluations (`job._cached_eval`).
        refused_methods: {method: why} of registered methods that cannot run on this track.
        doc: one line for `--help` and `ls`.
    """

    name: str
    recipe: str
    family: str
    tasks: tuple[str, ...]
    headline: tuple[tuple[str, str, str], ...]
    board: Board
    presets: str
    methods: str
    modalities: tuple[str, ...]
    default_method: str
    flags: frozenset[str]
    tasks_by_data: bool = False
    optional_tasks: tuple[str, ...] = ()
    summary: str = "eval/summary.json"
    forget_data: tuple[str, str] = ("clear", "forget_mixed")
    retain_data: tuple[str, str] = ("clear", "retain_mixed")
    identity_data: tuple[tuple[str, str], ...] = ()
    cache_prefix: str = ""
    refused_methods: tuple[tuple[str, str], ...] = ()
    doc: str = ""
    metrics: str = "clear_bench.eval.metrics:METRICS"

    def check_modality(self, modality: str | None) -> str:
        """`modality` (None: the track's default) if the track can unlearn that stream; else one line."""
        from .data.schema import check_modality

        if modality is None:
            return self.modalities[0]
        check_modality(modality)
        if modality not in self.modalities:
            raise ClearBenchError(f"--modality {modality} is not a forget stream of the {self.name} track (it "
                                  f"unlearns: {', '.join(self.modalities)})")
        return modality

    def refusal(self, method: str) -> str | None:
        """Why `method` cannot run on this track (None: it can)."""
        return dict(self.refused_methods).get(method)

    def default_out(self, method: str, modality: str, forget: int, preset: str, model: str | None = None) -> str:
        """The run folder when --out is not given: runs/[TRACK-]METHOD[-MODALITY]-forgetNN-PRESET[-MODEL] (the
        model's last path part), so runs of another preset or model never land in one folder (issue 27.4)."""
        prefix = "" if self.name == "multimodal" else f"{self.name}-"
        middle = f"-{modality}" if len(self.modalities) > 1 else ""
        tail = f"-{preset}" + (f"-{model.rstrip('/').rsplit('/', 1)[-1]}" if model else "")
        return f"runs/{prefix}{method.replace(':', '.')}{middle}-forget{forget:02d}{tail}"

    def get_presets(self):
        """Its presets registry (imported on demand: the registry lives in the track's own layer)."""
        return _load(self.presets)

    def method_names(self) -> list[str]:
        """The registered methods it runs (refused ones left out)."""
        return [n for n in _load(self.methods + ":available")() if self.refusal(n) is None]

    def get_method(self, name: str):
        """The method class called `name` (a registered name or `module:Class`) in its registry."""
        return _load(self.methods + ":get_method")(name)


    def metric_bounds(self, name: str) -> tuple[float | None, float | None]:
        """The (low, high) its metric `name` lies in; open on both sides for a metric it does not register."""
        registry = _load(self.metrics)
        return registry.get(name).bounds if name in registry else (None, None)


def _load(spec: str):
    from importlib import import_module

    module, _, attr = spec.partition(":")
    return getattr(import_module(module), attr)


# The paper's multimodal-track tasks, in the order of its Table 1 (forget, retain, then the real-knowledge ones).
MULTIMODAL_TASKS = ("forget_captions", "retain_captions", "forget_facerec", "retain_facerec", "real_faces", "real_world",
                    "tofu_forget", "tofu_retain", "holdout_captions", "holdout_facerec", "tofu_holdout")
TEXT_TASKS = ("text_forget", "text_retain", "text_real_authors", "text_world_facts")
TEXT_HOLDOUT_TASKS = ("text_holdout",)

TRACKS: Registry[Track] = Registry("track", [(t.name, t) for t in (
    Track("multimodal", "lm", "vlm", MULTIMODAL_TASKS,
          headline=(("forget_metric", "Forget ↓", "↓"), ("retain_metric", "Retain ↑", "↑"),
                    ("real_metric", "Real ↑", "↑"), ("model_utility", "Utility ↑", "↑"),
                    ("forget_captions/forget_quality_js", "Forget quality (1−JS) ↑", "↑")),
          board=Board("Multimodal (paper Table 1)",
                      (("forget_metric", "Forget"), ("retain_metric", "Retain"), ("real_metric", "Real"),
                       ("forget_captions/forget_quality_js", "FQ (1−JS)"),
                       ("forget_captions/forget_quality_ks", "FQ (KS p)"), ("model_utility", "Utility"),
                       ("forget_captions/mia_min_k_pp_auc", "MIA AUC")),
                      forget="forget_metric", retain="retain_metric", sort="forget_captions/forget_quality_js",
                      keep="model_utility"),
          presets="clear_bench.presets:PRESETS", methods="clear_bench.baselines",
          modalities=("both", "text", "image"), default_method="npo", flags=LM_FLAGS, tasks_by_data=True,
          identity_data=(("clear", "full+tofu"), ("clear", "{retain_mixed}"), ("clear", "{forget_mixed}")),
          doc="a VLM on CLEAR + TOFU, forgetting persons in text and images (paper Tables 1, 3, 6)"),
    Track("text", "lm", "causal-lm", TEXT_TASKS,
          headline=(("text_forget_metric", "Forget ↓", "↓"), ("text_retain_metric", "Retain ↑", "↑"),
                    ("text_real_metric", "Real ↑", "↑"), ("text_model_utility", "Utility ↑", "↑"),
                    ("text_forget/forget_quality_ks", "Forget quality (KS p) ↑", "↑")),
          board=Board("Text-only (paper Table 4)",
                      (("text_forget_metric", "Forget"), ("text_retain_metric", "Retain"),
                       ("text_real_metric", "Real"), ("text_log_forget_quality", "log FQ"),
                       ("text_forget/forget_quality_js", "FQ (1−JS)"), ("text_model_utility", "Utility"),
                       ("text_forget/privleak_min_k", "PrivLeak")),  # OpenUnlearning's TOFU default (min-k)
                      forget="text_forget_metric", retain="text_retain_metric", sort="text_log_forget_quality",
                      keep="text_model_utility"),
          presets="clear_bench.presets:TEXT_PRESETS", methods="clear_bench.baselines",
          modalities=("text",), default_method="npo", flags=LM_FLAGS, optional_tasks=TEXT_HOLDOUT_TASKS,
          forget_data=("tofu", "forget"), retain_data=("tofu", "retain"),
          identity_data=(("tofu", "full"), ("tofu", "{retain}"), ("tofu", "{forget}")), cache_prefix="text-",
          refused_methods=(("sisa", "it retrains shard adapters on the multimodal fine-tune data (CLEAR "
                                    "full+tofu on the VLM)"),),
          doc="a causal LM on TOFU (paper Table 4)"),
    Track("visual", "split-model", "face-id", (),
          headline=(("forget_acc", "Forget acc", "↓"), ("retain_acc", "Retain acc", "↑"),
                    ("holdout_acc", "Holdout acc", "→"), ("ulira", "U-LIRA", "→0.5"), ("umia", "U-MIA", "→0.5")),
          board=Board("Visual-only (paper Table 5)",
                      (("forget_acc", "Forget acc"), ("holdout_acc", "Holdout acc"), ("retain_acc", "Retain acc"),
                       ("ulira", "U-LIRA"), ("umia", "U-MIA")),
                      forget="forget_acc", retain="retain_acc", sort="ulira", keep="retain_acc"),
          presets="clear_bench.visual.presets:VISUAL_PRESETS", methods="clear_bench.visual.methods",
          metrics="clear_bench.visual.metrics:METRICS",
          modalities=("image",), default_method="scrub_bio",
          flags=COMMON_FLAGS | {"modality", "splits", "pretrain", "attacks"}, summary="summary.json",
          doc="face-ID split models judged by U-LIRA / U-MIA (paper Table 5)"),
)])


def get_track(name: str) -> Track:
    """The track called `name`; an unknown name is one line naming the valid ones."""
    if name not in TRACKS:
        raise UnknownNameError("track", name, TRACKS)
    return TRACKS[name]


def track_of_record(record: dict) -> str:
    """The track a leaderboard record belongs to (records written before tracks are multimodal)."""
    return record.get("track") or "multimodal"
