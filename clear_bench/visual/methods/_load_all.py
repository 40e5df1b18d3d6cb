"""Imports every built-in method module so that their @register runs."""
from . import dpo, ga, gd, gold, llmu, original, retain_ft, rmu, scrub, scrub_bio, sparsity, twins  # noqa: F401
