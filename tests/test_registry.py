"""The one registry type, `clear-bench ls`, metric arrows from the registry, and flags a method ignores."""
from __future__ import annotations

import re

import pytest

from clear_bench.cli import clear_eval_main, main
from clear_bench.errors import UnknownNameError
from clear_bench.registry import Registry, first_line


def test_registry_registers_lists_and_names_the_valid_entries_of_an_unknown_one():
    reg: Registry = Registry("colour")

    @reg.register("red")
    def red():
        """The colour of fire. Also of tomatoes."""

    reg.register("blue", object())
    assert reg.names() == ["red", "blue"] and list(reg) == ["red", "blue"] and "red" in reg
    assert reg.get("red") is red and dict(reg.items())["red"] is red and reg.doc("red") == "The colour of fire."
    with pytest.raises(UnknownNameError, match=r"unknown colour 'rde'; valid: blue, red\. Did you mean 'red'\?"):
        reg.get("rde")
    assert reg.get("green", None) is None
    unique = Registry("metric", unique=True)
    unique.add("x", 1)
    with pytest.raises(ValueError, match="already registered"):
        unique.add("x", 2)


def test_first_line_does_not_inherit_a_base_class_docstring():
    class Base:
        """Base docs."""

    class Child(Base):
        pass

    assert first_line(Base) == "Base docs." and first_line(Child) == ""


def test_first_line_does_not_stop_at_an_abbreviation():
    doc = "LLMU (Yao et al. 2023): ascent, e.g. on faces. More."
    assert first_line(doc) == "LLMU (Yao et al. 2023): ascent, e.g. on faces."


def test_every_kind_of_registry_is_the_one_type():
    from clear_bench.baselines.registry import METHODS
    from clear_bench.eval.metrics import METRICS
    from clear_bench.eval.tasks import TASKS
    from clear_bench.generation import FACE_SOURCES
    from clear_bench.presets import PRESETS

    assert all(isinstance(r, Registry) for r in (METHODS, METRICS, TASKS, FACE_SOURCES, PRESETS))


def test_ls_methods_lists_every_method_with_typed_hyper_parameters(capsys):
    from clear_bench.baselines import available

    assert main(["ls", "methods"]) == 0
    out = capsys.readouterr().out
    for name in available():
        assert re.search(rf"^{name} ", out, re.M), name
    assert "--method-arg beta=<float> (default 0.1)" in out and "--method-arg shards=<int> (default 4)" in out
    assert "ignores: --lr, --epochs, --batch-size, --lora-r, --l1-lambda" in out


def test_ls_metrics_gives_directions_and_roles_the_cost_metric_included(capsys):
    from clear_bench.eval.metrics import METRICS

    assert main(["ls", "metrics"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert {n for n, spec in METRICS.items() if spec.track in (None, "multimodal")} <= set(lines)
    assert re.match(r"unlearn_cost_fraction\s+↓\s+all\s+cost of unlearning", lines["unlearn_cost_fraction"])
    assert "forget↓ retain↑" in lines["prob"] and re.match(r"forget_metric\s+↓\s+forget", lines["forget_metric"])
    for kind in ("tasks", "presets", "stages", "models"):
        assert main(["ls", kind]) == 0 and capsys.readouterr().out.strip()


def test_arrows_come_from_the_registry():
    from clear_bench.eval.metrics import arrow_for, list_metrics

    assert arrow_for("unlearn_cost_fraction") == "↓" and arrow_for("model_utility") == "↑"
    assert arrow_for("forget_captions/prob") == "↓" and arrow_for("retain_captions/prob") == "↑"
    assert arrow_for("forget_captions/mia_min_k_pp_auc") == "→0.5"
    assert "unlearn_cost_fraction" not in list_metrics()  # recorded by the job, not computed from the logs
    with pytest.raises(UnknownNameError):
        arrow_for("forget_captions/nonesuch")


@pytest.mark.parametrize("argv, message", [
    (["--method", "sisa", "--lr", "1e-3"], r"^error: --lr is not used by method 'sisa' \(it ignores --lr, --epochs"),
    (["--method", "sisa", "--l1-lambda", "0"], r"^error: --l1-lambda is not used by method 'sisa'"),
    (["--method", "gd", "--l1-lambda", "-0.1"], r"^error: --l1-lambda must be >= 0 \(got -0.1\)"),
    (["--method", "gd", "--l1-lambda", "inf"], r"^error: --l1-lambda must be a finite number"),
])
def test_flags_a_method_ignores_and_bad_l1_fail_in_one_line_before_any_work(argv, message, tmp_path, monkeypatch,
                                                                            capsys):
    monkeypatch.setenv("CLEAR_BENCH_CACHE", str(tmp_path / "cache"))
    assert clear_eval_main(["--preset", "demo", "--out", str(tmp_path / "run")] + argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and re.search(message, err), err
    assert not (tmp_path / "cache").exists() and not (tmp_path / "run").exists()  # no data made, nothing written


def test_ls_lists_each_tracks_methods_and_metrics(capsys):
    from clear_bench.cli import main

    assert main(["ls", "methods", "--track", "visual"]) == 0
    out = capsys.readouterr().out
    assert "scrub_bio" in out and "twins" in out and "npo " not in out
    assert main(["ls", "metrics", "--track", "visual"]) == 0
    out = capsys.readouterr().out
    assert "ulira" in out and "forget_acc" in out
    assert main(["ls", "metrics", "--track", "text"]) == 0
    out = capsys.readouterr().out
    assert "text_log_forget_quality" in out and "\nforget_metric " not in out
