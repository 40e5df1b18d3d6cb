"""User-facing errors: the CLI prints these as one line and exits non-zero (no traceback)."""


class ClearBenchError(Exception):
    """A problem with the user's input or environment, stated in one line with what would be right."""


class SchemaError(ClearBenchError):
    """A dataset config is missing, or a column is missing or has the wrong type."""


class HubUnreachableError(ClearBenchError):
    """The Hugging Face Hub cannot be reached and no local copy of the repository exists."""


class UnknownNameError(ClearBenchError):
    """An unknown registry name (method, metric, backend, preset, ...)."""

    def __init__(self, kind: str, name: str, valid):
        import difflib

        valid = sorted(valid)
        # case first (`NPO` -> `npo`): difflib alone finds nothing close in 'NPO' vs 'npo'
        lower, key = {v.lower(): v for v in valid}, str(name).lower()
        close = [lower[key]] if key in lower else [lower[c] for c in difflib.get_close_matches(key, lower, n=1)]
        hint = f" Did you mean '{close[0]}'?" if close else ""
        super().__init__(f"unknown {kind} '{name}'; valid: {', '.join(valid)}.{hint}")
