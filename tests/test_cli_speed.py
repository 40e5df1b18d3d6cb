"""`--help` answers without loading the stack (issue 27: it took 4-9 s when it imported torch).

Checked by what gets imported, not by a clock: a fresh interpreter runs each `--help` and reports whether torch or
transformers were imported.
"""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import sys
from clear_bench import cli
try:
    getattr(cli, {entry!r})({argv!r})
except SystemExit as e:
    assert e.code == 0, e.code
print(sorted(m for m in ("torch", "transformers", "peft", "datasets") if m in sys.modules))
"""


@pytest.mark.parametrize("entry,argv", [
    ("main", ["--help"]), ("clear_eval_main", ["--help"]), ("clear_generate_main", ["--help"]),
    ("main", ["finetune", "--help"]), ("main", ["evaluate", "--help"]), ("main", ["leaderboard", "--help"]), ("main", ["transfer", "--help"]),
    ("main", ["validate", "--help"]), ("main", ["audit-identity", "--help"]),
    ("main", ["ls", "--help"]), ("main", ["attack", "--help"]), ("main", ["reproduce", "--help"]),
])
def test_help_imports_no_heavy_library(entry, argv):
    out = subprocess.run([sys.executable, "-c", PROBE.format(entry=entry, argv=argv)], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]", f"{entry} {argv} imported {out.strip().splitlines()[-1]}"


def test_builtin_method_names_match_their_files():
    # registry.BUILTIN lists the methods without importing them; each file must register under its own name
    from clear_bench.baselines.registry import BUILTIN, METHODS, _builtin

    _builtin()
    files = sorted(p.stem for p in (ROOT / "clear_bench" / "baselines").glob("*.py")
                   if p.stem not in ("__init__", "base", "losses", "registry", "refusals"))
    assert sorted(BUILTIN) == files
    assert set(BUILTIN) <= set(METHODS)
