"""Recovery: how much of the forgetting an attack undid, as one number (issue 23).

    recovery = (forget metric after the attack - after unlearning) / (target's - gold's)

0: nothing came back; 1: the forget metric is back at the target's (everything the unlearning removed, measured
in units of what retraining without the forget set removes). The denominator is the target-gold gap of the same
metric; below `MIN_GAP` (the demo's metrics have 3 decimals of resolution at a few hundred items) it measures
nothing, and recovery is None rather than a ratio of two noise terms.

An input attack (a prefilled answer, a paraphrased question, a changed image) asks every model the changed way, and
the change moves the target's and gold's numbers too (a paraphrased question lowers everyone's answer probability).
Its recovery (`shifted_recovery`) places the unlearned model between target and gold asked the same way, against
where it sits asked the plain way:

    ((after - gold_after) / (target_after - gold_after)) - ((before - gold) / (target - gold))

With target_after = target and gold_after = gold (a weight attack, whose reference models are asked as before) it
is `recovery`.
"""
from __future__ import annotations

MIN_GAP = 1e-3


def recovery(after_attack: float | None, after_unlearning: float | None, target: float | None,
             gold: float | None, min_gap: float = MIN_GAP) -> float | None:
    """(after_attack - after_unlearning) / (target - gold); None when a value is missing or |target - gold| <
    `min_gap`."""
    if None in (after_attack, after_unlearning, target, gold):
        return None
    gap = target - gold
    if abs(gap) < min_gap:
        return None
    return (after_attack - after_unlearning) / gap


def shifted_recovery(after_attack, after_unlearning, target, gold, target_attacked, gold_attacked,
                     min_gap: float = MIN_GAP) -> float | None:
    """The unlearned model's place on the target-gold scale under the attack minus its place without it (module
    docstring); None when a value is missing or either gap is below `min_gap`."""
    if None in (after_attack, after_unlearning, target, gold, target_attacked, gold_attacked):
        return None
    if abs(target - gold) < min_gap or abs(target_attacked - gold_attacked) < min_gap:
        return None
    return ((after_attack - gold_attacked) / (target_attacked - gold_attacked)
            - (after_unlearning - gold) / (target - gold))
