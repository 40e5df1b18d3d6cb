"""docs/per_item_format.md documents every registered metric, with the direction it is registered with (issue 27.4:
the doc defined `model_utility` and `forget_metric` the old way and lacked eight metrics)."""
import re
from pathlib import Path

from clear_bench.eval.metrics import METRICS
from clear_bench.visual.metrics import METRICS as VISUAL_METRICS

DOC = Path(__file__).resolve().parents[1] / "docs" / "per_item_format.md"


def documented() -> dict[str, str]:
    """{metric name: its row's direction cell} of the doc's metric tables (`a_{x,y}_b` names expanded)."""
    rows = {}
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.split("|")[1:-1]]
        if len(cells) != 5 or not cells[0].startswith("`"):
            continue
        for name in re.findall(r"`([^`]+)`", cells[0]):
            m = re.fullmatch(r"(.*)\{([^}]*)\}(.*)", name)
            for expanded in ([m[1] + part + m[3] for part in m[2].split(",")] if m else [name]):
                rows[expanded] = cells[3]
    return rows


def test_every_registered_metric_is_documented_with_its_direction():
    rows = documented()
    missing = [n for n in [*METRICS, *VISUAL_METRICS] if n not in rows]
    assert not missing, f"not in {DOC.name}: {missing}"
    for name, spec in METRICS.items():
        if isinstance(spec.higher_is_better, dict):  # role-dependent: the cell names the forget and retain arrows
            arrows = {spec.arrow(r) for r in ("forget", "retain") if spec.direction(r) is not None}
        else:
            arrows = {spec.arrow()}
        assert all(a in rows[name] for a in arrows), (name, arrows, rows[name])
    for name, spec in VISUAL_METRICS.items():
        want = {True: "↑", False: "↓"}.get(spec.higher_is_better) or f"→{spec.ideal:g}"
        assert rows[name] == want, (name, want, rows[name])


def test_the_doc_names_no_metric_that_is_not_registered():
    known = set(METRICS) | set(VISUAL_METRICS)
    assert set(documented()) <= known, set(documented()) - known


def test_the_paper_metrics_are_defined_as_the_code_computes_them():
    """The two definitions the doc had wrong: `forget_metric` reads ROUGE-L, Prob and max(0, 1 − R) (not Prob and
    the truth ratio), and `model_utility` the paper's four retain and real tasks (not every one)."""
    text = {line.split("|")[1].strip(): line for line in DOC.read_text().splitlines() if line.startswith("| `")}
    assert set(METRICS["forget_metric"].needs) == {"rouge_l", "prob", "truth_ratio_keep"}
    assert "ROUGE-L, Prob and max(0, 1 − R)" in text["`forget_metric`"]
    assert "four" in text["`model_utility`"] and "every retain and real task" in text["`model_utility_all`"]
