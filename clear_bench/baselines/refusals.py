"""Refusal answers for the IDK and DPO methods: defined in `clear_bench.data.refusals` (the pairing in
`training/unlearn.py` draws them), re-exported here, their old home."""
from ..data.refusals import REFUSALS

__all__ = ["REFUSALS"]
