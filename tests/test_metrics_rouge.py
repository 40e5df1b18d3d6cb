import pytest

from clear_bench.errors import ClearBenchError
from clear_bench.eval.metrics import MetricContext, get_metric
from clear_bench.eval.metrics import _porter
from clear_bench.eval.metrics.rouge import item_rouge, lcs_length, rouge_l_recall, rouge_l_recall_fallback, tokenize
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


def test_tokenize_like_rouge_score():
    assert tokenize("The Cats were RUNNING, fast!") == ["the", "cat", "were", "run", "fast"]
    assert tokenize("The Cats", stem=False) == ["the", "cats"]


def test_lcs_hand_value():
    assert lcs_length("a b c d".split(), "a c d e".split()) == 3
    assert lcs_length([], ["a"]) == 0


def test_fallback_hand_value():
    # reference: the cat sat on the mat (6 tokens); LCS with "the cat on a mat" = the cat on mat -> 4/6
    assert rouge_l_recall_fallback(*EXAMPLES[0]) == pytest.approx(4 / 6)
    assert rouge_l_recall_fallback("", "x") == 0.0


@pytest.mark.parametrize("reference,generation", EXAMPLES)
def test_fallback_agrees_with_rouge_score(reference, generation):
    rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")
    expected = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True).score(reference, generation)["rougeL"].recall
    assert rouge_l_recall_fallback(reference, generation) == pytest.approx(expected)
    assert rouge_l_recall(reference, generation) == pytest.approx(expected)


PORTER_CASES = {"caresses": "caress", "ponies": "poni", "running": "run", "happy": "happi", "relational": "relat",
                "dying": "die", "lies": "lie", "agreed": "agre", "hopping": "hop", "filing": "file",
                "generalization": "gener", "controlling": "control", "skies": "sky", "enjoy": "enjoy",
                "formality": "formal", "electrical": "electr", "archaeology": "archaeolog"}


def test_porter_hand_cases():
    assert {w: _porter.stem(w) for w in PORTER_CASES} == PORTER_CASES


def test_porter_agrees_with_nltk():
    porter = pytest.importorskip("nltk.stem.porter")
    stemmer = porter.PorterStemmer()
    words = set(PORTER_CASES) | set(tokenize(" ".join(r + " " + g for r, g in EXAMPLES), stem=False)) | {
        "conditional", "valenci", "digitizer", "conformabli", "radicalli", "differentli", "vileli", "analogousli",
        "vietnamization", "predication", "operator", "feudalism", "decisiveness", "hopefulness", "callousness",
        "sensitiviti", "sensibiliti", "triplicate", "formative", "formalize", "electriciti", "goodness",
        "revival", "allowance", "inference", "airliner", "gyroscopic", "adjustable", "defensible", "irritant",
        "replacement", "adjustment", "dependent", "adoption", "homologou", "communism", "activate",
        "angulariti", "homologous", "effective", "bowdlerize", "probate", "rate", "cease", "controll", "roll",
        "spied", "died", "flies", "syzygy", "yyyy", "toy", "feed", "bled", "sing", "fizzed", "tanned",
        "hissing", "failing", "geology", "fully", "hopefulli", "emotionalli", "innings", "succeed"}
    assert {w: _porter.stem(w) for w in words} == {w: stemmer.stem(w) for w in words}


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


def test_backend_falls_back_without_rouge_score(monkeypatch):
    import sys

    from clear_bench.eval.metrics import rouge

    monkeypatch.setitem(sys.modules, "rouge_score", None)  # makes `import rouge_score...` raise ImportError
    rouge._backend.cache_clear()
    try:
        assert rouge._backend() is rouge_l_recall_fallback
        assert rouge_l_recall(*EXAMPLES[1]) == pytest.approx(rouge_l_recall_fallback(*EXAMPLES[1]))
    finally:
        rouge._backend.cache_clear()
