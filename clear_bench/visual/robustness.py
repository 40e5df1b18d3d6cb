"""Attacks on the visual track's unlearned face-ID models (issue 23): does the forget accuracy come back?

The visual track keeps no model (each method unlearns N split models and keeps their scores), so its attacks run
inside `clear-eval --track visual --attacks ...`, on each split model right after the method unlearned it, and on
Original's and Gold's split models the same way (the reference rows, cached beside their scores):
  - `quanto-int8`, `quanto-int4`: the face-ID model's weights (every convolution and linear layer) quantized with
    optimum-quanto, as the LM tracks' attack of the same name (`attacks/quantization.py`), then every image
    re-embedded and identified;
  - `relearn-forget`: `BUDGET_FRACTION` of the split models' training epochs (at least one) of the same SGD
    recipe on the images of half of each split model's unlearned identities (a seeded draw per split), then the
    forget accuracy read on the other half's images only, the identities never relearned.
Recovery = (forget accuracy after the attack - after unlearning) / (Original's - Gold's), on the same identities;
Gold under the same attack is the reference row (`gold_recovery`). Results: `RUN/attacks.json`, and the record's
`attacks` block and `robust_forget` (the worst forget accuracy over the attacks scored on every forget identity).
"""
from __future__ import annotations

import copy
import math
import random
from dataclasses import replace

import numpy as np

from ..errors import ClearBenchError

VISUAL_ATTACKS = ("quanto-int8", "quanto-int4", "relearn-forget")
BUDGET_FRACTION = 10  # relearning: a tenth of the split models' training epochs


def check_visual_attacks(names) -> list[str]:
    """The visual attacks named (`attacks.check_attacks` for the visual track: one line for an unknown or
    inapplicable one)."""
    from ..attacks import check_attacks

    return [a.name for a in check_attacks(names, "visual")]


def relearn_split(plan, k: int, seed: int) -> tuple[list[int], list[int]]:
    """(relearned, scored) identities of split model k: its unlearned group in a seeded draw, the first half (at
    least one) relearned."""
    from ..utils import derive_seed

    ids = sorted(plan.unlearned(k))
    if len(ids) < 2:
        raise ClearBenchError(f"relearn-forget needs at least 2 forget identities per split model to relearn on "
                              f"some and score the others; split {k} has {len(ids)}")
    random.Random(derive_seed(seed, "visual-relearn-split", k)).shuffle(ids)
    half = max(1, len(ids) // 2)
    return sorted(ids[:half]), sorted(ids[half:])


def relearn_epochs(recipe) -> int:
    return max(1, math.ceil(recipe.epochs / BUDGET_FRACTION))


def attack_model(name: str, model, faces, plan, k: int, recipe, seed: int, device):
    """A copy of split model k's unlearned `model` under attack `name`."""
    from ..attacks import get_attack
    from ..utils import derive_seed
    from .train import train_identities

    model = copy.deepcopy(model)
    if name.startswith("quanto-"):
        return get_attack(name).apply(model.cpu(), None).to(device)
    if name == "relearn-forget":
        relearned, _ = relearn_split(plan, k, seed)
        train_identities(model, faces, faces.indices(relearned), replace(recipe, epochs=relearn_epochs(recipe)),
                         derive_seed(seed, "visual-relearn", k), device)
        return model
    raise ClearBenchError(f"attack '{name}' has no visual-track implementation (visual attacks: "
                          f"{', '.join(VISUAL_ATTACKS)})")


def scored_identities(name: str, plan, k: int, seed: int) -> tuple[int, ...]:
    """The forget identities whose images an attack's forget accuracy reads on split model k."""
    return tuple(relearn_split(plan, k, seed)[1]) if name == "relearn-forget" else tuple(plan.unlearned(k))


def forget_accuracy(run, ids_of) -> float:
    """Mean over split models of the face-ID accuracy on the non-enrolment images of `ids_of(k)`."""
    from .metrics import accuracy

    labels, scored = run.faces.labels.numpy(), ~run.faces.enrol_mask.numpy()
    return float(np.mean([accuracy(run.preds[k], labels, scored & run.group_mask(ids_of(k)))
                          for k in range(run.plan.n)]))


def attack_results(names, run, attacked: dict, original, original_att: dict, gold, gold_att: dict, seed: int,
                   recipe, costs: dict) -> dict:
    """attacks.json of a visual run: per attack the forget and retain accuracy before and after, Original's and
    Gold's forget accuracy on the same identities, recovery, and Gold's under the same attack."""
    from ..attacks.recovery import recovery
    from .metrics import compute

    out = {}
    for name in names:
        ids = lambda k, n=name: scored_identities(n, run.plan, k, seed)  # noqa: E731
        before, after = forget_accuracy(run, ids), forget_accuracy(attacked[name], ids)
        t, g = forget_accuracy(original, ids), forget_accuracy(gold, ids)
        g_after = forget_accuracy(gold_att[name], ids)
        retain = compute(attacked[name])["retain_acc"]["value"]
        out[name] = {
            "attack": name, "tracks": ["visual"], "metric": "forget_acc", "retain_metric": "retain_acc",
            "changes": "weights", "scored_persons": None if name != "relearn-forget" else "half of each split's",
            "settings": {"library": "optimum-quanto", "weights": f"qint{name[-1]}"} if name.startswith("quanto-")
            else {"epochs": relearn_epochs(recipe), "of": recipe.epochs, "lr": recipe.lr,
                  "batch_size": recipe.batch_size, "on": "half of each split model's unlearned identities"},
            "forget": after, "forget_before": before, "target": t, "gold": g,
            "retain": retain, "retain_before": compute(run)["retain_acc"]["value"],
            "recovery": recovery(after, before, t, g),
            "original_after": forget_accuracy(original_att[name], ids),
            "gold_row": {"forget": g_after, "forget_before": g, "recovery": recovery(g_after, g, t, g),
                         "retain": compute(gold_att[name])["retain_acc"]["value"]},
            "cost": costs.get(name, {}),
        }
    return out


def add_to_record(record: dict, results: dict) -> dict:
    """The record's `attacks` block and `robust_forget` (the worst forget accuracy over the attacks that score
    every forget identity), re-hashed, as `attacks.run` does for the LM tracks."""
    from ..leaderboard.records import record_hash

    record = dict(record)
    record["attacks"] = {n: {k: r.get(k) for k in ("forget", "forget_before", "retain", "retain_before", "recovery",
                                                   "changes", "settings", "cost", "scored_persons")}
                         | {"gold_recovery": r["gold_row"]["recovery"]} for n, r in results.items()}
    worst = [r["forget"] for r in results.values() if r.get("forget") is not None and r.get("scored_persons") is None]
    record["robust_forget"] = max(worst) if worst else None  # forget accuracy is lower-is-better
    record["record_hash"] = record_hash(record)
    return record
