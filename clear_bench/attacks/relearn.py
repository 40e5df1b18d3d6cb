"""Relearning attacks (registered in a later increment)."""
