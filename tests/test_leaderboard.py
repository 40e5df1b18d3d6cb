"""Leaderboard: validated records in, markdown + HTML + trade-off plot out, ranked by forget quality."""
import json

from clear_bench.leaderboard.build import build
from clear_bench.leaderboard.records import make_record, write_record

from _boards import last_column


def _record(tmp_path, method, fq, utility, forget=0.2, retain=0.6, target_retain=None, track="multimodal",
            extra=None, seed=0, model="tiny", config=None, reference=None):
    metrics = {"forget_captions/forget_quality_js": {"value": fq, "direction": "↑", "higher_is_better": True},
               "model_utility": {"value": utility, "direction": "↑", "higher_is_better": True},
               "forget_metric": {"value": forget, "direction": "↓", "higher_is_better": False},
               "retain_metric": {"value": retain, "direction": "↑", "higher_is_better": True}, **(extra or {})}
    if reference is None and target_retain is not None:
        reference = {"target": {"model_utility": target_retain}}
    config = {"preset": "demo", "unlearn": {"train": {"seed": seed, "lr": 1e-3}}, **(config or {})}
    r = make_record(method=method, modality="both", forget=10, seed=seed, config=config, data={},
                    model={"base": model}, versions={}, metrics=metrics, efficiency={"unlearn_cost_fraction": 0.05},
                    track=track, reference=reference)
    return write_record(tmp_path / f"{method}-{track}-{model}-s{seed}-{r['record_hash'][:6]}.json", r)


def _ranked(md, section="Multimodal"):
    """Method labels of one section's rows, in rank order."""
    part = md if section is None else md.split(f"## {section}")[1].split("## ")[0]
    return [line.split("|")[2].strip() for line in part.splitlines() if line.startswith("| ") and
            line.split("|")[1].strip().isdigit()]


def test_leaderboard_ranks_and_renders(tmp_path):
    paths = [_record(tmp_path, "gd", 0.3, 0.5), _record(tmp_path, "npo", 0.7, 0.4, forget=0.1)]
    files = build(paths, tmp_path / "board", include_baselines=False)
    md = files["markdown"].read_text()
    assert _ranked(md) == ["npo", "gd"]
    assert "Forget ↓" in md and "0.050" in md
    html = files["html"].read_text()
    assert "<table class='board'" in html and "tradeoff-multimodal.png" in html
    assert files["plot-multimodal"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_collapsed_rows_rank_last_and_are_marked(tmp_path):
    """A run that lost its knowledge must not top the board for having 'forgotten' (paper Table 1 greys such
    rows): gd's forget quality is best, but its model utility fell below half its target's."""
    paths = [_record(tmp_path, "gd", 0.9, 0.3, forget=0.0, retain=0.3, target_retain=0.8),
             _record(tmp_path, "npo", 0.5, 0.6, forget=0.2, retain=0.7, target_retain=0.8),
             _record(tmp_path, "idk", 0.4, 0.02, forget=0.5, retain=0.7)]  # no target known: the 0.05 floor
    md = build(paths, tmp_path / "board", include_baselines=False)["markdown"].read_text()
    assert _ranked(md) == ["npo", "gd (collapsed)", "idk (collapsed)"]


def test_sort_by_any_metric_in_its_direction_and_na_last(tmp_path):
    paths = [_record(tmp_path, "a", 0.9, 0.5, forget=0.4), _record(tmp_path, "b", 0.5, 0.6, forget=0.1),
             _record(tmp_path, "c", None, 0.7, forget=0.3)]
    md = build(paths, tmp_path / "by-fq", include_baselines=False)["markdown"].read_text()
    assert _ranked(md) == ["a", "b", "c"] and "n/a" in md  # None is printed n/a and ranked last, never as 0
    md = build(paths, tmp_path / "by-forget", include_baselines=False, sort="forget_metric")["markdown"].read_text()
    assert _ranked(md) == ["b", "c", "a"]  # lower is better
    import pytest
    from clear_bench.errors import ClearBenchError

    with pytest.raises(ClearBenchError, match="no record has metric 'nope'"):
        build(paths, tmp_path / "bad", include_baselines=False, sort="nope")


def test_one_row_per_record_and_shipped_told_apart(tmp_path):
    from clear_bench.leaderboard.build import baseline_records

    shipped = baseline_records()
    mine = _record(tmp_path, "half_ascent", 0.5, 0.5)
    md = build([mine, mine, *shipped[:2]], tmp_path / "board")["markdown"].read_text()
    labels = _ranked(md, section=None)
    assert labels.count("half_ascent") == 1  # given twice, one row
    # shipped records passed explicitly are not listed twice; the visual track's original and gold are references
    runs = [p for p in shipped if p.stem not in ("original", "gold")]
    assert len(labels) == 1 + len(runs) and len(runs) == len(shipped) - 2
    rows = [line for line in md.splitlines() if "| half_ascent |" in line]
    assert "| yours |" in rows[0]
    assert all("| shipped |" in line for line in md.splitlines() if line.split("|")[2:3] and
               line.split("|")[2].strip() in {"npo", "gd", "ga"})


def test_one_section_per_track(tmp_path):
    lira = {"ulira": {"value": 0.7, "direction": "↓", "higher_is_better": False},
            "forget_acc": {"value": 0.4, "direction": "↓", "higher_is_better": False},
            "retain_acc": {"value": 0.9, "direction": "↑", "higher_is_better": True}}
    paths = [_record(tmp_path, "npo", 0.5, 0.5), _record(tmp_path, "scrub_bio", 0.5, 0.5, track="visual", extra=lira)]
    files = build(paths, tmp_path / "board", include_baselines=False)
    md = files["markdown"].read_text()
    assert "## Multimodal" in md and "## Visual-only" in md and "U-LIRA ↓" in md
    assert _ranked(md, "Visual-only") == ["scrub_bio"] and _ranked(md) == ["npo"]
    assert "plot-visual" in files


def test_shipped_baselines_are_valid_records(tmp_path):
    from clear_bench.leaderboard.build import TRACKS, baseline_records
    from clear_bench.leaderboard.records import load_record

    for path in baseline_records():
        record = load_record(path)
        assert record["config"]["preset"] == "demo"
        board = TRACKS[record.get("track", "multimodal")]
        assert record["metrics"][board.forget]["direction"] == "↓", path


def test_record_hash_covers_every_field(tmp_path):
    path = _record(tmp_path, "gd", 0.3, 0.5)
    data = json.loads(path.read_text())
    from clear_bench.leaderboard.records import record_hash

    assert record_hash(data) == data["record_hash"]
    data["seed"] = 1
    assert record_hash(data) != data["record_hash"]


def test_shipped_board_ranks_forgetting_above_remembering():
    """Issue 13's check on the shipped multimodal records: no method whose forget-set ROUGE-L and Prob all stay
    within 5 % of its target's ranks better on Forget ↓ than a method that lowered them all by half."""
    from clear_bench.leaderboard.build import baseline_records
    from clear_bench.leaderboard.records import load_record

    def ratios(r):
        t = r["reference"]["target"]
        return [r["metrics"][f"{task}/{m}"]["value"] / t[f"{task}/{m}"]
                for task in ("forget_captions", "forget_facerec") for m in ("rouge_l", "prob")]

    records = [load_record(p) for p in baseline_records()]
    records = [r for r in records if r.get("track", "multimodal") == "multimodal" and r.get("reference")]
    kept = [r for r in records if all(abs(x - 1) <= 0.05 for x in ratios(r))]
    halved = [r for r in records if all(x <= 0.5 for x in ratios(r))]
    assert kept and halved, ([r["method"] for r in kept], [r["method"] for r in halved])
    for a in kept:
        for b in halved:
            assert a["metrics"]["forget_metric"]["value"] > b["metrics"]["forget_metric"]["value"], (a["method"],
                                                                                                    b["method"])


def _section_rows(md: str, section: str) -> list[list[str]]:
    """The cells of one section's ranked rows (those whose first cell is a rank)."""
    part = md.split(f"## {section}")[1].split("\n## ")[0]
    return [[c.strip() for c in line.split("|")[1:-1]] for line in part.splitlines()
            if line.startswith("| ") and line.split("|")[1].strip().isdigit()]


def test_shipped_visual_board_ranks_ulira_by_distance_to_one_half(tmp_path):
    """Issue 22.3 on the shipped visual records (as shipped now, and after regeneration: the rule reads the record's
    ideal, whichever direction it carries): no method ranks above another whose U-LIRA is closer to 0.5, collapsed
    rows aside."""
    from clear_bench.leaderboard.build import baseline_records

    md = build(baseline_records(), tmp_path / "board", include_baselines=False)["markdown"].read_text()
    head = next(line for line in md.split("## Visual-only")[1].splitlines() if line.startswith("| #"))
    col = [c.strip() for c in head.split("|")[1:-1]].index(next(c.strip() for c in head.split("|")
                                                                 if c.strip().startswith("U-LIRA")))
    ranked = [r for r in _section_rows(md, "Visual-only") if "(collapsed)" not in r[1]]
    assert len(ranked) >= 5
    distances = [abs(float(r[col].split()[0]) - 0.5) for r in ranked]
    assert distances == sorted(distances), list(zip((r[1] for r in ranked), distances))


def test_a_target_value_ranks_by_distance_whatever_direction_the_record_gives(tmp_path):
    """U-LIRA 0.40 (|0.10|) must not rank above 0.55 (|0.05|), neither when the record says ↓ with ideal 0.5 (records
    written before issue 22.3) nor when it says →0.5."""
    for entry in ({"direction": "↓", "higher_is_better": False, "ideal": 0.5},
                  {"direction": "→0.5", "higher_is_better": None, "ideal": 0.5}):
        paths = [_record(tmp_path, m, 0.5, 0.5, track="visual",
                         extra={"ulira": {"value": v, **entry}, "retain_acc": {"value": 0.9, "direction": "↑",
                                                                                "higher_is_better": True}})
                 for m, v in (("low", 0.40), ("near", 0.55), ("far", 0.9))]
        md = build(paths, tmp_path / "board", include_baselines=False)["markdown"].read_text()
        assert _ranked(md, "Visual-only") == ["near", "low", "far"]


def test_a_metric_has_one_goal_at_registration():
    import pytest

    from clear_bench.eval.metrics import get_metric, metric

    with pytest.raises(ValueError, match="either a direction .* or a target value"):
        metric("lira_like", higher_is_better=False, ideal=0.5, role="forget")(lambda ctx: 0.0)
    assert get_metric("mia_loss_auc").goal("forget") == 0.5
    assert get_metric("forget_metric").goal() == "lower" and get_metric("model_utility").goal() == "higher"
    assert get_metric("prob").goal("holdout") is None
    from clear_bench.visual.metrics import get_metric as visual_metric

    assert visual_metric("ulira").arrow == "→0.5" and visual_metric("forget_acc").arrow == "↓"


def test_a_record_made_in_a_tmp_folder_names_no_absolute_path(tmp_path, monkeypatch):
    """Issue 22.7: the shipped records carried the maker's scratch paths (`data.clear`, `data.tofu`)."""
    from clear_bench.leaderboard.records import load_record, make_record, write_record

    cache, work = tmp_path / "cache", tmp_path / "work"
    monkeypatch.setenv("CLEAR_BENCH_CACHE", str(cache))
    (work / "data").mkdir(parents=True)
    monkeypatch.chdir(work)
    record = make_record(method="npo", modality="both", forget=10, seed=0,
                         config={"preset": "demo", "eval": {"data": str(work / "data" / "clear")}},
                         data={"clear": str(cache / "demo-data-v2-seed0" / "clear"), "tofu": "locuslab/TOFU",
                               "extra": [str(tmp_path.parent / "elsewhere" / "faces")]},
                         model={"base": "tiny"}, versions={}, metrics={})
    path = write_record(work / "submission.json", record)
    text = path.read_text()
    assert str(tmp_path) not in text and '"/' not in text
    data = load_record(path)["data"]
    assert data == {"clear": "<cache>/demo-data-v2-seed0/clear", "tofu": "locuslab/TOFU", "extra": ["<local>/faces"]}
    assert load_record(path)["config"]["eval"]["data"] == "data/clear"


# --------------------------------------------------------------------------- issue 27.3: boards a reader can use

REFERENCE = {"target": {"forget_metric": 0.9, "retain_metric": 0.8, "model_utility": 0.8,
                        "forget_captions/forget_quality_js": 0.3},
             "gold": {"forget_metric": 0.1, "retain_metric": 0.7, "model_utility": 0.75}}


def _rows(md, section="Multimodal"):
    """Every row of a section (reference rows included) as {header: cell}."""
    part = md.split(f"## {section}")[1].split("\n## ")[0]
    lines = [line for line in part.splitlines() if line.startswith("| ")]
    head = [c.strip() for c in lines[0].split("|")[1:-1]]
    return [dict(zip(head, (c.strip() for c in line.split("|")[1:-1]))) for line in lines[1:]]


def test_target_and_gold_are_reference_rows_not_ranked(tmp_path):
    paths = [_record(tmp_path, "npo", 0.7, 0.6, forget=0.3, retain=0.65, reference=REFERENCE),
             _record(tmp_path, "gd", 0.5, 0.6, forget=0.2, retain=0.5, reference=REFERENCE)]
    files = build(paths, tmp_path / "board", include_baselines=False)
    table = _rows(files["markdown"].read_text())
    assert [(r["#"], r["method"]) for r in table] == [("ref", "target (before)"), ("ref", "gold (retain only)"),
                                                     ("1", "npo"), ("2", "gd")]
    target, gold = table[0], table[1]
    assert target["Forget ↓"] == "0.900" and target["Retain ↑"] == "0.800" and target["from"] == "reference"
    assert gold["Forget ↓"] == "0.100" and gold["FQ (1−JS) ↑"] == "n/a"
    # distance to gold: |0.3 - 0.1| on forgetting, 0.7 - 0.65 short on retain; gd is further off on both
    npo = table[2]
    assert npo["Forget: off gold ↓"] == "0.200" and npo["Retain: short of gold ↓"] == "0.050"
    assert table[3]["Forget: off gold ↓"] == "0.100" and table[3]["Retain: short of gold ↓"] == "0.200"
    assert npo["front"] == "◆" and table[3]["front"] == "◆"  # neither is better on both: both on the front
    html = files["html"].read_text()
    assert html.count("data-ref='1'") == 2 and "target (before)" in html and "gold (retain only)" in html


def test_a_dominated_run_is_off_the_pareto_front(tmp_path):
    paths = [_record(tmp_path, "npo", 0.7, 0.6, forget=0.15, retain=0.7, reference=REFERENCE),
             _record(tmp_path, "gd", 0.5, 0.6, forget=0.3, retain=0.6, reference=REFERENCE)]
    table = _rows(build(paths, tmp_path / "board", include_baselines=False)["markdown"].read_text())
    assert {r["method"]: r["front"] for r in table if r["#"] != "ref"} == {"npo": "◆", "gd": ""}


def test_two_models_are_two_rows_ranked_within_their_model(tmp_path):
    paths = [_record(tmp_path, "npo", 0.7, 0.6, model="tiny"), _record(tmp_path, "npo", 0.4, 0.6, model="tiny-qwen2vl"),
             _record(tmp_path, "gd", 0.5, 0.6, model="tiny-qwen2vl")]
    md = build(paths, tmp_path / "board", include_baselines=False)["markdown"].read_text()
    table = _rows(md)
    assert [(r["#"], r["method"], r["model"]) for r in table] == [
        ("1", "npo", "tiny"), ("1", "gd", "tiny-qwen2vl"), ("2", "npo", "tiny-qwen2vl")]
    heading = ("Ranked within each model and forget size by **FQ (1−JS) ↑**; ties broken by Utility ↑, "
               "then method name")
    assert heading in md


def test_ties_are_broken_by_the_keep_score_then_the_name(tmp_path):
    paths = [_record(tmp_path, "b", 0.5, 0.6), _record(tmp_path, "c", 0.5, 0.7), _record(tmp_path, "a", 0.5, 0.6)]
    assert _ranked(build(paths, tmp_path / "board", include_baselines=False)["markdown"].read_text()) == ["c", "a", "b"]
    md = build(paths, tmp_path / "by-forget", include_baselines=False, sort="forget_metric")["markdown"].read_text()
    assert "Ranked within each model and forget size by **Forget ↓**" in md


def test_seeds_of_one_configuration_are_one_row_with_a_t_interval(tmp_path):
    from scipy import stats

    paths = [_record(tmp_path, "npo", 0.6, 0.5, seed=42), _record(tmp_path, "npo", 0.8, 0.7, seed=43),
             _record(tmp_path, "npo", 0.1, 0.5, seed=42, config={"unlearn": {"train": {"seed": 42, "lr": 1e-4}}}),
             _record(tmp_path, "gd", 0.65, 0.5, seed=1)]
    files = build(paths, tmp_path / "board", include_baselines=False)
    table = _rows(files["markdown"].read_text())
    assert [(r["method"], r["n"]) for r in table] == [("npo", "2"), ("gd", "1"), ("npo", "1")]  # mean 0.7 > 0.65
    half = stats.t.ppf(0.975, 1) * stats.tstd([0.6, 0.8]) / 2 ** 0.5
    assert table[0]["FQ (1−JS) ↑"] == f"0.700 ± {half:.3f}" and table[0]["Utility ↑"] == f"0.600 ± {half:.3f}"
    assert table[1]["FQ (1−JS) ↑"] == "0.650"  # one seed: no interval
    html = files["html"].read_text()
    assert ">s42</a>" in html and ">s43</a>" in html  # the merged row links both records
    linked = sorted(p.name for p in (tmp_path / "board" / "records").iterdir())
    assert len(linked) == 4 and all(json.loads((tmp_path / "board" / "records" / n).read_text())["record_hash"]
                                    for n in linked)


def test_rows_keep_merged_means_for_callers():
    from clear_bench.leaderboard.build import TRACKS
    from clear_bench.leaderboard.records import make_record
    from clear_bench.leaderboard.table import rows

    def rec(seed, v):
        return make_record(method="npo", modality="both", forget=10, seed=seed, config={"seed": seed}, data={},
                           model={"base": "tiny"}, versions={},
                           metrics={"forget_captions/forget_quality_js": {"value": v, "direction": "↑",
                                                                          "higher_is_better": True}})

    table = rows([(rec(0, 0.2), False), (rec(1, 0.4), False), (rec(2, 0.9), False), (rec(0, 0.1), True)],
                 TRACKS["multimodal"])
    assert len(table) == 2 and table[0]["n"] == 3 and table[0]["seeds"] == [0, 1, 2]
    assert abs(table[0]["forget_captions/forget_quality_js"] - 0.5) < 1e-12 and table[0]["from"] == "yours"
    assert table[1]["n"] == 1 and table[1]["from"] == "shipped"  # a shipped record is not merged into yours


def test_shipped_visual_board_has_original_and_gold_as_references(tmp_path):
    from clear_bench.leaderboard.build import baseline_records

    md = build(baseline_records(), tmp_path / "board", include_baselines=False)["markdown"].read_text()
    table = _rows(md, "Visual-only")
    refs = [r for r in table if r["#"] == "ref"]
    assert [r["method"] for r in refs] == ["target (before)", "gold (retain only)"]
    assert not any(r["method"] in ("original", "gold") for r in table)
    assert "U-LIRA (closest to 0.5)" in md
    for section in ("Multimodal", "Text-only"):
        assert [r["method"] for r in _rows(md, section) if r["#"] == "ref"] == ["target (before)",
                                                                                 "gold (retain only)"]


def test_a_results_plot_says_when_a_run_collapsed():
    from clear_bench.leaderboard.build import TRACKS
    from clear_bench.leaderboard.table import collapse_note

    board = TRACKS["multimodal"]
    s = lambda v: {"metrics": {"model_utility": {"value": v}}}  # noqa: E731
    assert collapse_note(board, s(0.5), s(0.9)) == ""
    note = collapse_note(board, s(0.3), s(0.9))
    assert "COLLAPSED: model_utility 0.300 < 0.5 × the target's 0.900" in note
    assert "< 0.05" in collapse_note(TRACKS["visual"], {"metrics": {"retain_acc": {"value": 0.01}}}, {"metrics": {}})


def test_forget_sizes_are_ranked_apart_with_their_own_references(tmp_path):
    data = json.loads(_record(tmp_path, "npo", 0.2, 0.6, reference=REFERENCE).read_text())
    five = make_record(**{k: data[k] for k in ("method", "modality", "seed", "config", "data", "model", "versions",
                                                "metrics", "efficiency", "track", "reference")}, forget=5)
    paths = [_record(tmp_path, "gd", 0.5, 0.6, reference=REFERENCE), write_record(tmp_path / "five.json", five)]
    table = _rows(build(paths, tmp_path / "board", include_baselines=False)["markdown"].read_text())
    assert [(r["#"], r["method"], r["forget %"]) for r in table] == [
        ("ref", "target (before)", "5"), ("ref", "gold (retain only)", "5"), ("1", "npo", "5"),
        ("ref", "target (before)", "10"), ("ref", "gold (retain only)", "10"), ("1", "gd", "10")]


def test_sort_says_which_sections_lack_the_key(tmp_path, caplog):
    """Issue 28.6: `--sort forget_metric` sorted the multimodal section and left the text and visual ones in their
    default order without a word; each section without the key now says so."""
    import logging

    from clear_bench.leaderboard.build import baseline_records

    with caplog.at_level(logging.WARNING, logger="clear_bench.leaderboard.build"):
        md = build(baseline_records(), tmp_path / "board", include_baselines=False,
                   sort="forget_metric")["markdown"].read_text()
    assert md.count("(`--sort forget_metric`: no record of this section has that metric; default order.)") == 2
    assert {r.getMessage().split(": the ")[1].split(" section")[0] for r in caplog.records} == {"text", "visual"}


def test_the_board_shows_robust_forget_for_attacked_runs(tmp_path):
    """Issue 23: a run attacked after unlearning (`robust_forget` in its record: the worst forget metric over the
    attacks) gets a 'Robust forget' column beside its plain Forget; seeds are averaged; an unattacked run shows
    n/a, and a section of unattacked runs has no such column."""
    from clear_bench.leaderboard.records import make_record, record_hash, write_record

    paths = []
    for method, seed, forget, robust in (("gd", 0, 0.20, 0.60), ("gd", 1, 0.22, 0.40), ("npo", 0, 0.30, None)):
        metrics = {"forget_metric": {"value": forget, "direction": "↓", "higher_is_better": False},
                   "retain_metric": {"value": 0.6, "direction": "↑", "higher_is_better": True}}
        r = make_record(method=method, modality="both", forget=10, seed=seed, config={"preset": "demo"}, data={},
                        model={}, versions={}, metrics=metrics)
        if robust is not None:
            r["robust_forget"] = robust
            r["record_hash"] = record_hash(r)
        paths.append(write_record(tmp_path / f"{method}{seed}.json", r))
    files = build(paths, tmp_path / "board", include_baselines=False)
    head, cells = last_column(files["markdown"].read_text())
    assert head.rstrip(" |").endswith("| Robust forget ↓")
    assert cells == {"gd": "0.500", "npo": "n/a"}  # gd: the mean over its two seeds
    assert "Robust forget ↓</th>" in files["html"].read_text()
    assert (tmp_path / "board" / "robust-multimodal.png").stat().st_size > 0  # forget vs robust forget
    alone = build([paths[2]], tmp_path / "board2", include_baselines=False)["markdown"].read_text()
    head = next(line for line in alone.splitlines() if line.startswith("| #"))
    assert "Robust forget" not in head
