"""The sub-commands of the command line, one module per family; with `clear_bench/cli.py` (entry points,
logging, the one error handler `run_safely`) they are the CLI layer, and no library module imports them.

Each module has `add_parser(sub)` registering its command(s) on the `clear-bench` sub-parsers, with
`func` set to a `cmd_*(args) -> int` that raises `ClearBenchError` for user errors.
"""
