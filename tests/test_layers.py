"""The layers point one way (data -> models -> training -> methods -> eval -> job -> CLI): every import in
every module, function-level ones included, parsed with `ast`."""
from __future__ import annotations

import ast
from pathlib import Path

import clear_bench

ROOT = Path(clear_bench.__file__).parent
CLI = ("clear_bench.cli", "clear_bench.commands")  # the CLI layer: cli.py and the commands/ package


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Absolute names of every module `path` imports, at any depth (`from . import x` gives pkg.x)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found |= {f"{target}.{a.name}" for a in node.names}
    return found


def _in(name: str, layer) -> bool:
    layers = (layer,) if isinstance(layer, str) else layer
    return any(name == p or name.startswith(p + ".") for p in layers)


MODULES = {_module_name(p): _imports(p) for p in sorted(ROOT.rglob("*.py"))}


def test_the_parser_sees_function_level_and_relative_imports():
    job = MODULES["clear_bench.job"]
    assert "clear_bench.eval.run" in job  # `from .eval.run import evaluate` inside a function
    assert "clear_bench.errors" in MODULES["clear_bench.data.sources"]


def test_no_library_module_imports_the_cli():
    offenders = {m: sorted(i for i in imports if _in(i, CLI)) for m, imports in MODULES.items() if not _in(m, CLI)}
    assert not {m: i for m, i in offenders.items() if i}


def test_training_does_not_import_the_methods():
    offenders = {m: sorted(i for i in imports if _in(i, "clear_bench.baselines"))
                 for m, imports in MODULES.items() if _in(m, "clear_bench.training")}
    assert not {m: i for m, i in offenders.items() if i}


def test_data_and_models_import_nothing_above_them():
    above = ("clear_bench.training", "clear_bench.baselines", "clear_bench.eval", "clear_bench.job",
             "clear_bench.presets", "clear_bench.leaderboard") + CLI
    for layer in ("clear_bench.data", "clear_bench.models"):
        offenders = {m: sorted(i for i in imports if _in(i, above))
                     for m, imports in MODULES.items() if _in(m, layer)}
        assert not {m: i for m, i in offenders.items() if i}, layer


def _package(module: str) -> str:
    """clear_bench.data.sources -> clear_bench.data; top-level modules (clear_bench.job) are their own."""
    return ".".join(module.split(".")[:2])


def test_no_package_level_import_cycles():
    """No two packages (or top-level modules) import each other, at any depth: data -> generation -> data was the
    last such cycle (data/demo.py built the demo data; now generation/demo.py does)."""
    edges: dict[str, set[str]] = {}
    for module, imports in MODULES.items():
        a = _package(module)
        edges.setdefault(a, set()).update(_package(i) for i in imports
                                          if i.startswith("clear_bench.") and _package(i) != a)

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt == goal:
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return False

    cycles = sorted((a, b) for a, bs in edges.items() for b in bs if reaches(b, a))
    assert not cycles, cycles
