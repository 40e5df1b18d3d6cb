"""The README's plug-in examples ("Your own method, without forking") run as written and do what they say:
each raises the forget answers' loss more than the retain answers' on a tiny model (measured 2026-12-06, one
thread: HalfAscent forget +0.48 / retain -0.80 nats, BelowReference +0.74 / -0.20). A README example that no
longer runs fails here."""
import copy
import re
import sys
from pathlib import Path

import pytest
import torch

README = Path(__file__).resolve().parents[1] / "README.md"


def _plugin_source() -> str:
    section = README.read_text().split("### Your own method, without forking", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) >= 2, "the README's plug-in section should show a plain and a reference-based method"
    return "\n".join(blocks)


def test_the_readme_plugin_section_names_real_files():
    section = README.read_text().split("### Your own method, without forking", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`((?:clear_bench|tests)/[\w/]+\.py)`", section))
    assert named and all((README.parent / f).is_file() for f in named), named


@pytest.mark.slow
def test_readme_plugin_through_clear_eval_has_one_name_and_forgets(demo_models, tmp_path, monkeypatch):
    """The README's commands: `mymethods.py` in the working folder, `clear-eval --method mymethods:HalfAscent`.
    The method is called by its `name` everywhere a reader looks (folder, title, record, board); the record's
    config keeps how to load it; and it forgets (Forget metric below the target's)."""
    import json

    from clear_bench.cli import clear_eval_main
    from clear_bench.leaderboard.build import build

    (tmp_path / "mymethods_readme.py").write_text(_plugin_source())
    monkeypatch.chdir(tmp_path)
    sys.modules.pop("mymethods_readme", None)
    assert clear_eval_main(["--preset", "demo", "--method", "mymethods_readme:HalfAscent", "--method-arg",
                            "weight=0.5"]) == 0
    out = tmp_path / "runs" / "half_ascent-both-forget10-demo-tiny"
    record = json.loads((out / "submission.json").read_text())
    assert record["method"] == "half_ascent" and record["config"]["method"] == "mymethods_readme:HalfAscent"
    assert (out / "results.md").read_text().startswith("# half_ascent · ")
    assert record["metrics"]["forget_metric"]["value"] < record["reference"]["target"]["forget_metric"]
    board = build([out / "submission.json"], tmp_path / "board", include_baselines=False)["markdown"].read_text()
    assert "| half_ascent |" in board and "mymethods_readme" not in board


@pytest.mark.slow
@pytest.mark.parametrize("cls, args", [("BelowReference", {"margin": "5"})])
def test_readme_plugin_raises_the_forget_loss(cls, args, tmp_path, monkeypatch, tiny_vlm):
    from clear_bench.baselines import build_method
    from clear_bench.baselines.base import model_logits
    from clear_bench.data.collator import Collator
    from clear_bench.data.sample import Sample
    from clear_bench.training.loop import TrainConfig
    from clear_bench.training.losses import cross_entropy
    from clear_bench.training.unlearn import UnlearnConfig, make_pairs, unlearn

    (tmp_path / "mymethods_readme.py").write_text(_plugin_source())
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("mymethods_readme", None)
    method = build_method(f"mymethods_readme:{cls}", args)
    base, processor = tiny_vlm
    forget = [Sample(f"f/{i}", "Where was Anna Stone born?", f"Anna Stone was born in Lyon {i}.") for i in range(3)]
    retain = [Sample(f"r/{i}", "What can you see in this picture?", "Stone sits at a desk.") for i in range(3)]
    collate = Collator(processor)

    def loss(model, samples):
        with torch.no_grad():
            batch = collate(samples)
            return float(cross_entropy(model_logits(model, batch), batch["labels"]))

    before = loss(base, forget), loss(base, retain)
    cfg = UnlearnConfig(lora_r=4, train=TrainConfig(epochs=5, lr=5e-3, batch_size=3, warmup_epochs=0))
    model, result = unlearn(copy.deepcopy(base), processor, method, make_pairs(forget, retain, seed=0), cfg)
    assert result.steps == 5
    after = loss(model, forget), loss(model, retain)
    assert after[0] > before[0] + 0.2 and after[0] - before[0] > after[1] - before[1], (before, after)
