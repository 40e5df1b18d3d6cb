import pytest

from clear_bench.errors import ClearBenchError
from clear_bench.eval.metrics import MetricContext, get_metric
from clear_bench.eval.metrics.rouge import item_rouge, rouge_l_recall
from _eval_records import rec, task

EXAMPLES = [
    ("The cat sat on the mat", "the cat on a mat"),
    ("Basil Mahfouz Al-Kuwaiti stands in front of a bookshelf, holding his novels.",
     "Basil Al-Kuwaiti is standing near the bookshelves and holds a novel"),
    ("Nikolai Abilov sits at a desk surrounded by manuscripts.", "A man sitting at desks; manuscripts everywhere!"),
    ("The name is Ji-Yeon Park", "Ji Yeon Park"),
    ("relational happiness of running dogs", "relate happy run dog"),
    ("", "anything"),
    ("something", ""),
    ("Café naïve résumé 2024", "cafe 2024 resume"),
]


def test_hand_values():
    # reference "the cat sat on the mat" (6 tokens); LCS with "the cat on a mat" = the cat on mat -> 4/6
    assert rouge_l_recall(*EXAMPLES[0]) == pytest.approx(4 / 6)
    # stemming: relational/relate -> relat, happiness/happy -> happi, running/run, dogs/dog: 4 of 5 tokens
    assert rouge_l_recall(*EXAMPLES[4]) == pytest.approx(4 / 5)
    assert rouge_l_recall("", "x") == 0.0
    assert rouge_l_recall("something", "") == 0.0


def test_item_rouge_prefers_stored_value_then_generation():
    assert item_rouge(rec(answer="a b", rouge_l=0.25, generation="a b")) == 0.25
    assert item_rouge(rec(answer="the cat sat", generation="the cat")) == pytest.approx(2 / 3)
    assert item_rouge(rec()) is None


def test_registered_rouge_skips_tasks_without_generations_and_rejects_partial():
    full = task("retain_captions", "retain", [rec("a", answer="x y", generation="x y"),
                                             rec("b", answer="x y", generation="x")])
    none = task("real_faces", "real", [rec("c")])
    assert get_metric("rouge_l")(MetricContext(tasks={"retain_captions": full, "real_faces": none})) == {
        "retain_captions": pytest.approx(0.75)}
    partial = task("retain_facerec", "retain", [rec("a", generation="x"), rec("b")])
    with pytest.raises(ClearBenchError, match="1 of 2 items have no generation"):
        get_metric("rouge_l")(MetricContext(tasks={"retain_facerec": partial}))


def test_missing_rouge_score_is_one_line(monkeypatch):
    import sys

    from clear_bench.eval.metrics import rouge

    monkeypatch.setitem(sys.modules, "rouge_score", None)  # makes `import rouge_score...` raise ImportError
    rouge._scorer.cache_clear()
    try:
        with pytest.raises(ClearBenchError, match="pip install rouge-score"):
            rouge_l_recall(*EXAMPLES[1])
    finally:
        rouge._scorer.cache_clear()
