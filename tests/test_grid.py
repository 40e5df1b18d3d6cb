"""The grid runner (`clear_bench/grid.py`) and `clear-bench reproduce`'s tables, without training: the engine's
bookkeeping through a runner that writes real records, the published data against the paper, the tables' grids,
claims and `--dry-run`. Real clear-eval grids (and Ray) run in tests/test_reproduce.py."""
import sys

import pytest

from clear_bench import grid, published
from clear_bench import reproduce as rp
from clear_bench.errors import ClearBenchError
from clear_bench.leaderboard.records import make_record, write_record


def _cells(tmp_path, names=("a", "b", "c")):
    return [grid.Cell(n, ("--method", n, "--out", str(tmp_path / "runs" / n)), str(tmp_path / "runs" / n),
                      key={"method": n}) for n in names]


class Runner:
    """Writes a valid record into the cell's folder (or fails, printing an error line as clear-eval does); counts
    its calls. A finished folder is left as it is (the job's "already complete")."""

    def __init__(self, fail=(), fail_once=()):
        self.fail, self.fail_once, self.calls = set(fail), set(fail_once), []

    def __call__(self, cell, log_path):
        from pathlib import Path

        self.calls.append(cell.name)
        if cell.name in self.fail or (cell.name in self.fail_once and self.calls.count(cell.name) == 1):
            with open(log_path, "a") as f:
                f.write(f"error: --method {cell.name} is broken\n")
            return 2
        out = Path(cell.out)
        if not (out / "submission.json").is_file():
            out.mkdir(parents=True, exist_ok=True)
            write_record(out / "submission.json", make_record(
                method=cell.name, modality="both", forget=10, seed=0, config={"preset": "demo"}, data={}, model={},
                versions={}, metrics={"forget_metric": {"value": 0.1, "higher_is_better": False, "direction": "↓"}}))
        return 0


def test_a_failed_cell_is_reported_and_the_others_run(tmp_path):
    runner = Runner(fail={"b"})
    results = grid.run_grid(_cells(tmp_path), runner, tmp_path / "logs", progress=False)
    assert [r.status for r in results] == ["done", "failed", "done"]
    assert runner.calls == ["a", "b", "c"]
    failed = results[1]
    assert failed.record is None and failed.error.startswith("error: --method b is broken")
    assert str(tmp_path / "logs" / "b.log") in failed.error
    assert results[0].record["method"] == "a" and results[0].as_json()["config_hash"] == results[0].record["config_hash"]


def test_a_second_call_reuses_finished_cells_and_retries_a_failed_one(tmp_path):
    cells = _cells(tmp_path)
    grid.run_grid(cells, Runner(fail={"b"}), tmp_path / "logs", progress=False)
    again = grid.run_grid(cells, Runner(), tmp_path / "logs", progress=False)
    assert [r.status for r in again] == ["reused", "done", "reused"]
    flaky = Runner(fail_once={"d"})
    (d,) = grid.run_grid(_cells(tmp_path, ["d"]), flaky, tmp_path / "logs", retries=1, progress=False)
    assert d.status == "done" and d.attempts == 2 and flaky.calls == ["d", "d"]


def test_a_runner_that_raises_fails_its_cell_only_and_old_errors_are_not_reported_again(tmp_path):
    def broken(cell, log_path):
        if cell.name == "a":
            raise OSError("no space left on device")
        return Runner()(cell, log_path)

    grid.run_grid(_cells(tmp_path, ["b"]), Runner(fail={"b"}), tmp_path / "logs", progress=False)
    a, b = grid.run_grid(_cells(tmp_path, ["a", "b"]), broken, tmp_path / "logs", progress=False)
    assert a.status == "failed" and "the cell runner failed: OSError: no space left on device" in a.error
    assert b.status == "done"

    def silent(cell, log_path):
        return 3

    (b,) = grid.run_grid(_cells(tmp_path, ["b"]), silent, tmp_path / "logs", progress=False)
    assert b.error.startswith("exit status 3")  # not the earlier call's "error: --method b is broken"


def test_an_interrupted_cell_stops_the_grid(tmp_path):
    def interrupted(cell, log_path):
        return 130

    with pytest.raises(KeyboardInterrupt):
        grid.run_grid(_cells(tmp_path), interrupted, tmp_path / "logs", progress=False)


def test_the_grid_shows_progress_over_every_cell(tmp_path, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="clear_bench"):
        grid.run_grid(_cells(tmp_path, [f"c{i}" for i in range(4)]), Runner(fail={"c2"}), tmp_path / "logs")
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("grid:")]
    assert lines[-1].startswith("grid: 4/4 (100%)") and "done=3" in lines[-1] and "failed=1" in lines[-1]


def test_bad_grids_are_one_line(tmp_path):
    cells = _cells(tmp_path, ["a"])
    for bad, match in (([], "no cells"), (cells + cells, "two cells of the grid have the name a")):
        with pytest.raises(ClearBenchError, match=match):
            grid.run_grid(bad, Runner(), tmp_path, progress=False)
    with pytest.raises(ClearBenchError, match="--engine must be one of sequential, ray"):
        grid.run_grid(cells, Runner(), tmp_path, engine="slurm", progress=False)
    with pytest.raises(ClearBenchError, match="--address is the Ray cluster's"):
        grid.run_grid(cells, Runner(), tmp_path, address="auto", progress=False)


def test_the_ray_engine_without_ray_names_the_extra(monkeypatch, tmp_path, capsys):
    from clear_bench.cli import main

    monkeypatch.setitem(sys.modules, "ray", None)  # an import of ray now fails, as without the extra
    with pytest.raises(ClearBenchError, match=r"pip install -e '\.\[ray\]'"):
        grid.require_ray()
    assert main(["reproduce", "table5", "--engine", "ray", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: --engine ray needs Ray") and not (tmp_path / "r").exists()


def test_dry_run_prints_the_cells_their_count_and_what_the_estimate_needs(tmp_path, capsys):
    from clear_bench.cli import main

    assert main(["reproduce", "table3", "--dry-run", "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "30 cells (0 already hold a record)" in out and "1 shared reference settings" in out
    assert out.count("clear-eval --track multimodal --preset demo") == 30
    for modality in ("text", "image", "both"):
        assert f"--method rmu --forget 10 --modality {modality}" in out
    assert "estimated GPU-hours: not computed: needs unit costs" in out
    assert not (tmp_path / "r").exists()  # a dry run writes nothing


def test_the_gpu_hours_estimate_counts_shared_fine_tunes_once(tmp_path):
    units = {"finetune_s_per_sample": 0.1, "unlearn_s_per_row": 0.2, "caption_s_per_item": 1.0,
             "short_s_per_item": 0.5, "finetune_epochs": 3, "unlearn_epochs": 5, "device": "H100",
             "workload": {"target_rows": 100, "gold_rows": 80, "forget_rows": 20, "caption_like": 10, "short": 4}}
    cells = rp.cells("table1", rp.Setting(preset="paper", root=tmp_path), ["npo", "gd"])
    est = grid.estimate_hours(cells, units)
    one_eval = 10 * 1.0 + 4 * 0.5
    expected = (180 * 3 * 0.1 + 2 * one_eval) + 2 * (20 * 5 * 0.2 + one_eval)  # one shared setting, two cells
    assert est["gpu_hours"] == pytest.approx(expected / 3600) and est["cells_estimated"] == 2
    assert "estimated GPU-hours: 0.0 for 2 multimodal cells (unit costs measured on H100" in grid.plan(cells, units)
    with pytest.raises(ClearBenchError, match="lack unlearn_s_per_row"):
        grid.estimate_hours(cells, {k: v for k, v in units.items() if k != "unlearn_s_per_row"})


# ------------------------------------------------------------------------------------------- the paper's tables


def test_published_values_are_the_papers():
    """A sample copied from arXiv 2410.18057 v4 (Tables 1-5 and section 6), each with its source."""
    assert published.value("table1", "GD", "Retain") == 0.00 and published.value("table1", "NPO", "Retain") == 0.14
    assert published.value("table1", "SKU", "FQ") == 0.83 and published.value("table1", "Gold", "Forget") == 0.19
    assert published.value("table3", "KL", "FQ", "text") == 0.71
    assert published.value("table3", "GD", "Forget", "both") == 0.37
    assert published.value("table4", "RMU", "log FQ", "Mistral-7B") == -123.22
    assert published.value("table4", "Original", "Real", "Mistral-7B") is None  # the paper prints –
    assert published.value("table5", "Twins", "Holdout") == 20.34 and published.value("table5", "DPO", "Retain") == 81.49
    assert published.value("table2", "text vs multimodal", "rho") == 0.705
    assert published.value("table2", "visual vs multimodal", "rho") == 0.205
    assert published.source("table3", "GD", "Retain", "text") == "Table 3, row GD, column text / Retain"
    assert len(published.TABLE1["rows"]) == 13 and len(published.TABLE5["rows"]) == 10


def test_every_claim_holds_on_the_published_values():
    """The claims as coded are the paper's reading of its own numbers: each holds on the published table."""
    for table in rp.TABLE_NAMES:
        for c in rp.claims(table, {}):
            assert c["published"] is True, (table, c)
            assert c["ours"] is None and c["ours_detail"]  # nothing run: cannot tell


def test_the_tables_grids(tmp_path):
    s = rp.Setting(root=tmp_path)
    t1 = rp.cells("table1", s)
    assert sorted(c.key["method"] for c in t1) == sorted(
        ["dpo", "gd", "ga", "idk", "kl", "llmu", "npo", "retain_ft", "rmu", "scrub", "sku"])
    assert {c.out for c in t1 if c.key["method"] != "sku"} <= {c.out for c in rp.cells("table3", s)}  # shared
    t5 = rp.cells("table5", s)
    assert {"original", "gold", "scrub_bio", "twins", "sparsity"} <= {c.key["method"] for c in t5}
    t2 = rp.cells("table2", s)
    assert {c.track for c in t2} == {"multimodal", "text", "visual"}
    assert not {"original", "gold"} & {c.key["method"] for c in t2}
    paper4 = rp.cells("table4", rp.Setting(preset="paper", root=tmp_path))
    assert {c.key["group"] for c in paper4} == {"Llama-2-7B", "Mistral-7B"} and all(
        c.resources["num_gpus"] == 1 for c in paper4)
    assert len([c for c in rp.cells("table2", rp.Setting(preset="paper", root=tmp_path)) if c.track == "text"]) == \
        len(rp.default_methods("table4"))  # one text record per method: the transfer's rule
    with pytest.raises(ClearBenchError, match="--methods: nosuch not on the multimodal track"):
        rp.cells("table1", s, ["nosuch"])
    with pytest.raises(ClearBenchError, match="unknown table 'table9'"):
        rp.check_table("table9")


def test_render_puts_ours_beside_the_published_values(tmp_path):
    ours = {("GA", None): {"Real": 0.3, "Retain": 0.01, "Forget": 0.0, "FQ": 0.5},
            ("Base", None): {"Real": 0.5, "Retain": 0.6, "Forget": 0.9, "FQ": 0.4}}
    claims = rp.claims("table1", ours)
    text = rp.render("table1", ours, rp.Setting(root=tmp_path), "tiny", claims_=claims)
    assert "| GA | 0.30 / 0.27 | 0.01 / 0.00 | 0.00 / 0.00 | 0.50 / 0.67 |" in text
    assert "| NPO | – / 0.46 |" in text and rp.DEMO_NOTE in text
    assert claims[0]["ours"] is True and "not run: GD, KL, RMU" in claims[0]["ours_detail"]
    assert "| GA, GD, KL and RMU lose the retain set (retain < half of Base's) | holds (" in text


def test_the_ray_schedule_runs_one_cell_per_shared_setting_first(tmp_path):
    """The cache has no lock: the first cell of a setting trains its target and gold (or split models) alone; the
    others start once it finished well; a failed leader hands over to the next cell."""
    s = rp.Setting(root=tmp_path)
    cells = rp.cells("table1", s, ["ga", "gd", "npo"]) + rp.cells("table5", s, ["original", "gold"])
    schedule = grid.Schedule(cells)
    first = schedule.start()
    assert [c.key["method"] for c in first] == ["ga", "original"]
    assert [c.key["method"] for c in schedule.finished(first[0], ok=False)] == ["gd"]  # the next leader
    assert [c.key["method"] for c in schedule.finished(first[1], ok=True)] == ["gold"]
    leader = next(c for c in cells if c.key["method"] == "gd")
    assert [c.key["method"] for c in schedule.finished(leader, ok=True)] == ["npo"]
    assert schedule.finished(cells[2], ok=True) == [] and schedule.finished(first[0], ok=True) == []


def test_ls_tables_lists_what_reproduce_rebuilds(capsys):
    from clear_bench.cli import main

    assert main(["ls", "tables"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[:5]] == list(rp.TABLE_NAMES)
    assert lines[0].startswith("table1  Table 1: multimodal track")


def test_table2_without_enough_records_is_a_table_of_dashes(tmp_path):
    """Failed cells leave too few methods to rank: the table is still written, with the reason."""
    cells = rp.cells("table2", rp.Setting(root=tmp_path), ["ga", "gd"])
    results = grid.run_grid(cells, Runner(), tmp_path / "logs", progress=False)  # multimodal-looking records only
    ours, correlations, why = rp.transfer_values(results)
    assert ours == {} and correlations is None and "text and/or visual records" in why
    text = rp.render("table2", ours, rp.Setting(root=tmp_path), None, correlations, rp.claims("table2", ours))
    assert "| text vs multimodal (forget) | – | – | – | 0.705 |" in text and "cannot tell" in text


def test_our_values_stand_in_the_form_that_made_the_published_table(tmp_path):
    """Tables 1, 3 and 4 were made by the reference code: by default our `*_ref` forms stand beside them (they
    reproduce the published numbers); --form paper-text shows the paper's text formulas, named as such."""
    metrics = {k: {"value": v} for k, v in {"forget_metric_ref": 0.11, "forget_metric": 0.22, "retain_metric_ref": 0.5,
                                             "retain_metric": 0.6, "real_metric_ref": 0.7, "real_metric": 0.8,
                                             "forget_captions/forget_quality_js_ref": 0.3,
                                             "forget_captions/forget_quality_js": 0.4}.items()}
    reference = {"target": {"forget_metric_ref": 0.9, "forget_metric": 0.95}, "gold": {}}
    cell = grid.Cell(name="npo", argv=(), out=str(tmp_path), track="multimodal", key={"method": "npo"})
    results = [grid.CellResult(cell, "done", 1.0, record={"metrics": metrics, "reference": reference})]
    ref, text = rp.values("table1", results), rp.values("table1", results, "paper-text")
    assert ref[("NPO", None)] == {"Real": 0.7, "Retain": 0.5, "Forget": 0.11, "FQ": 0.3}
    assert text[("NPO", None)] == {"Real": 0.8, "Retain": 0.6, "Forget": 0.22, "FQ": 0.4}
    assert ref[("Base", None)]["Forget"] == 0.9 and text[("Base", None)]["Forget"] == 0.95
    assert rp.FORM_NOTES["reference"] in rp.render("table1", ref, rp.Setting(root=tmp_path), "tiny")
    assert rp.FORM_NOTES["paper-text"] in rp.render("table1", text, rp.Setting(root=tmp_path, form="paper-text"), "tiny")
    with pytest.raises(ClearBenchError, match="unknown --form 'mine'; valid: reference, paper-text"):
        rp.values("table1", results, "mine")
