"""The metric registry: every aggregate is a plain function registered with its direction, the
split role(s) it reads and what it needs.

A metric function takes a `MetricContext` (the per-item logs of a run, optionally of the gold run,
and the results of metrics computed before it) and returns either

- a float: one run-level number (``model_utility``), or
- a dict ``{qualifier: float}``: one number per task (``prob`` -> ``{"retain_captions": 0.81, ...}``);
  reports flatten it to ``"<qualifier>/<name>"``. An empty dict means "not applicable to this run"
  (e.g. membership inference without a holdout task).

`needs` lists inputs and dependencies:
- ``"gold"``: per-item logs of the gold model (fine-tuned on the retain set only); calling the
  metric without them raises a `ClearBenchError` that says so;
- the name of another registered metric: it is computed first and its result is in `ctx.results`
  (the order is resolved from these declarations, never hand-wired).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence, Union

from ...errors import ClearBenchError
from ...registry import Registry
from ..logs import ItemRecord


ROLES = ("forget", "retain", "real", "holdout", "all")
INPUT_NEEDS = frozenset({"gold"})

Direction = Union[bool, None]
MetricValue = Union[float, dict]


@dataclass(frozen=True)
class TaskLog:
    """The per-item records of one task, with the task facts the metrics depend on.

    `normalized_prob`: Prob is p/(p + sum q) (choice-style tasks: face->name, real faces, real
    world) rather than mean p (caption and free-text QA tasks). `group` pairs tasks of the same
    kind across roles ("captions", "facerec", "tofu_qa"): a forget task and a holdout task of the
    same group form a membership-inference pair.
    """

    name: str
    role: str
    items: tuple[ItemRecord, ...]
    normalized_prob: bool = False
    group: str = ""

    def __post_init__(self) -> None:
        if self.role not in ROLES or self.role == "all":
            raise ClearBenchError(f"task '{self.name}' has role '{self.role}'; "
                                  f"valid: {', '.join(r for r in ROLES if r != 'all')}")
        if not self.items:
            raise ClearBenchError(f"task '{self.name}' has no per-item records")


@dataclass
class MetricContext:
    """What a metric reads: this run's tasks, the gold run's tasks (or None), earlier results."""

    tasks: Mapping[str, TaskLog]
    gold: Mapping[str, TaskLog] | None = None
    results: dict[str, MetricValue] = field(default_factory=dict)

    def by_role(self, *roles: str) -> list[TaskLog]:
        return [t for t in self.tasks.values() if "all" in roles or t.role in roles]

    def matched_gold(self) -> Mapping[str, TaskLog]:
        """The gold run's tasks, after checking that every task both runs have scored the same items: a gold
        run of another forget size or cap would give comparisons of different people (a ClearBenchError)."""
        gold = self.gold or {}
        for name, task in self.tasks.items():
            if name not in gold:
                continue
            mine, theirs = {r.item_id for r in task.items}, {r.item_id for r in gold[name].items}
            if mine != theirs:
                example = sorted(mine ^ theirs)[0]
                raise ClearBenchError(f"the gold run's '{name}' scored other items than this run's "
                                      f"({len(mine ^ theirs)} differ, e.g. {example}): evaluate both with the same "
                                      "forget size and cap")
        return gold

    def result(self, name: str) -> MetricValue:
        if name not in self.results:
            raise ClearBenchError(f"metric '{name}' has not been computed yet; declare it in `needs`")
        return self.results[name]


@dataclass(frozen=True)
class MetricSpec:
    """A registered metric. Its goal is part of its registration (`goal()`): `higher_is_better` is a bool, or None
    with a target value `ideal` (closest is best: an attack accuracy's 0.5), or None without one (no direction,
    e.g. a holdout task's Prob; rankings refuse it), or a mapping role -> bool/None for per-task metrics whose
    direction depends on the split (Prob is lower-is-better on forget tasks, higher elsewhere).
    `fn` is None for a metric the job records itself rather than computes from per-item logs (the
    cost of unlearning): it is listed and has a direction, but summaries do not compute it.
    `track`: the leaderboard track whose runs compute it ("text" for the text-only track's table
    metrics); None: every track (per-task metrics such as Prob or forget quality).
    `bounds`: the (low, high) every value lies in (None: open on that side); records are checked against it on
    read (`leaderboard.records.validate_record`)."""

    name: str
    fn: Callable[[MetricContext], MetricValue] | None
    higher_is_better: Direction | Mapping[str, Direction]
    roles: tuple[str, ...]
    needs: tuple[str, ...] = ()
    ideal: float | None = None
    doc: str = ""
    track: str | None = None
    bounds: tuple[float | None, float | None] = (None, None)

    @property
    def role(self) -> str:
        return "+".join(self.roles)

    @property
    def dependencies(self) -> tuple[str, ...]:
        return tuple(n for n in self.needs if n not in INPUT_NEEDS)

    def direction(self, role: str | None = None) -> Direction:
        """True if higher is better, False if lower is, None if neither (for a task of `role`)."""
        if isinstance(self.higher_is_better, Mapping):
            return self.higher_is_better.get(role) if role else None
        return self.higher_is_better

    def goal(self, role: str | None = None) -> str | float | None:
        """'higher', 'lower', the target value, or None (for a task of `role`)."""
        return goal(self.direction(role), self.ideal)

    def arrow(self, role: str | None = None) -> str:
        """'↑', '↓', '→<ideal>' or '·' (no direction), for tables."""
        d = self.direction(role)
        if d is True:
            return "↑"
        if d is False:
            return "↓"
        return f"→{self.ideal:g}" if self.ideal is not None else "·"

    @property
    def computed(self) -> bool:
        """Whether summaries compute it from per-item logs."""
        return self.fn is not None

    def __call__(self, ctx: MetricContext) -> MetricValue:
        if self.fn is None:
            raise ClearBenchError(f"metric '{self.name}' is recorded by the job, not computed from per-item logs")
        if "gold" in self.needs and not ctx.gold:
            raise ClearBenchError(
                f"metric '{self.name}' needs the gold model's per-item logs (an evaluation of the model "
                "fine-tuned on the retain set only); pass gold=<its logs> in Python or "
                "`--gold GOLD_RUN_DIR` to `clear-bench report`")
        for dep in self.dependencies:
            ctx.result(dep)
        return self.fn(ctx)


METRICS: Registry[MetricSpec] = Registry("metric")
_REGISTRY = METRICS  # the name earlier code and tests use


def _check_roles(name: str, higher_is_better, roles: tuple[str, ...]) -> None:
    bad = [r for r in roles if r not in ROLES]
    if bad or not roles:
        raise ValueError(f"metric '{name}': role {bad or roles} is not one of {', '.join(ROLES)}")
    if isinstance(higher_is_better, Mapping):
        unknown = [r for r in higher_is_better if r not in ROLES]
        if unknown:
            raise ValueError(f"metric '{name}': direction given for unknown role(s) {unknown}")


def _check_goal(name: str, higher_is_better, ideal: float | None) -> None:
    """A metric has one goal: higher is better, lower is better, or a target value (`ideal`, ranked by distance);
    a direction and a target together would rank two ways (issue 22.3: U-LIRA 'lower' with ideal 0.5)."""
    directions = higher_is_better.values() if isinstance(higher_is_better, Mapping) else [higher_is_better]
    if ideal is not None and any(d is not None for d in directions):
        raise ValueError(f"metric '{name}': give either a direction (higher_is_better) or a target value (ideal), "
                         "not both")


def goal(higher_is_better: Direction, ideal: float | None) -> str | float | None:
    """'higher', 'lower', the target value (a float: closest is best) or None (no direction), from a metric's
    (or a record entry's) direction and ideal; a target value wins over a direction (records written before
    issue 22.3 carry U-LIRA as lower-is-better with ideal 0.5)."""
    if ideal is not None:
        return float(ideal)
    return {True: "higher", False: "lower"}.get(higher_is_better)


UNIT = (0.0, 1.0)  # the bounds of a probability, a score, a p-value, an AUC or an accuracy


def metric(name: str, *, higher_is_better: Direction | Mapping[str, Direction], role: str | Sequence[str],
           needs: Iterable[str] = (), ideal: float | None = None, track: str | None = None,
           bounds: tuple[float | None, float | None] = UNIT) -> Callable:
    """Register `fn(ctx) -> float | dict[str, float]` as metric `name` (decorator).

    `role`: the split role(s) the metric reads: one of forget / retain / real / holdout / all,
    or a tuple of them. `needs`: "gold" and/or names of metrics it reads from `ctx.results`.
    `track`: the one track whose runs compute it (None: all tracks). `bounds`: where its values lie (default
    [0, 1]; None on a side: open).
    """
    roles = (role,) if isinstance(role, str) else tuple(role)
    _check_roles(name, higher_is_better, roles)
    _check_goal(name, higher_is_better, ideal)

    def register(fn: Callable[[MetricContext], MetricValue]) -> Callable:
        if name in METRICS and METRICS[name].fn is not fn:
            raise ValueError(f"metric '{name}' is already registered (by {METRICS[name].fn.__module__})")
        METRICS.add(name, MetricSpec(name=name, fn=fn, higher_is_better=higher_is_better, roles=roles,
                                     needs=tuple(needs), ideal=ideal, doc=(fn.__doc__ or "").strip(), track=track,
                                     bounds=tuple(bounds)))
        return fn

    return register


def recorded_metric(name: str, *, higher_is_better: Direction, role: str, doc: str,
                    bounds: tuple[float | None, float | None] = (None, None)) -> MetricSpec:
    """Register a metric the job records itself (no per-item logs behind it), so that it has a
    direction for tables and is listed by `clear-bench ls metrics`."""
    _check_roles(name, higher_is_better, (role,))
    _check_goal(name, higher_is_better, None)
    spec = MetricSpec(name=name, fn=None, higher_is_better=higher_is_better, roles=(role,), doc=doc,
                      bounds=tuple(bounds))
    if name in METRICS and METRICS[name] != spec:
        raise ValueError(f"metric '{name}' is already registered")
    return METRICS.add(name, spec)


def get_metric(name: str) -> MetricSpec:
    """The registered metric `name`; `UnknownNameError` (naming the valid ones) if there is none."""
    return METRICS.get(name)


def list_metrics(track: str | None = "multimodal") -> list[str]:
    """Names of the metrics summaries of a `track` run compute from per-item logs (those of every track and
    the track's own), in registration order; `track=None`: every computed one (`METRICS` also holds the ones
    the job records, such as the cost of unlearning)."""
    return [n for n, spec in METRICS.items() if spec.computed and (track is None or spec.track in (None, track))]


def arrow_for(metric_key: str) -> str:
    """The direction arrow of a summary key, for table headers and plot labels: '↑', '↓', '→x' or '·'.

    `metric_key` is a metric name (``forget_metric``) or ``<task>/<metric>`` (``forget_captions/prob``);
    a per-task metric whose direction depends on the role takes the role of that task.
    """
    task, _, name = metric_key.rpartition("/")
    spec = get_metric(name)
    from ..tasks import get_task

    task_spec = get_task(task, None) if task else None
    return spec.arrow(task_spec.role if task_spec else None)


def resolve_order(names: Iterable[str] | None = None, track: str | None = "multimodal") -> list[MetricSpec]:
    """The requested metrics (all of `track`'s if None) plus their dependencies, dependencies first."""
    order: list[MetricSpec] = []
    state: dict[str, str] = {}

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise ClearBenchError(f"metric dependency cycle: {' -> '.join(chain + (name,))}")
        spec = get_metric(name)
        state[name] = "visiting"
        for dep in spec.dependencies:
            visit(dep, chain + (name,))
        state[name] = "done"
        order.append(spec)

    for n in (list_metrics(track) if names is None else names):
        visit(n, ())
    return order
