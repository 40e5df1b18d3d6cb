"""Attacks on an unlearned model: was the knowledge forgotten, or only hidden? (issue 23)

Each attack is one small file that registers a named `Attack` declaring the tracks it applies to
(`clear-bench ls attacks`). `run.run_attacks` applies each to a finished run's saved model (`training.saved`),
re-scores its forget and retain tasks with the ordinary evaluation, and does the same to the gold model, the
reference row; `recovery.recovery` turns the forget metric into how much of the forgetting was undone.

Not to be confused with `clear_bench/visual/attacks.py`: U-LIRA / U-MIA membership inference on the visual track.
Importing this package imports no torch (`--help` and `ls` stay fast).
"""
from .base import ATTACKS, Attack, AttackContext, InputAttack, available, check_attacks, get_attack, register

__all__ = ["ATTACKS", "Attack", "AttackContext", "InputAttack", "available", "check_attacks", "get_attack", "register"]
