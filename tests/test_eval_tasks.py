import pytest

from clear_bench.data.prompts import CAPTION_QUESTIONS, NAME_PROMPT, caption_question
from clear_bench.errors import SchemaError, UnknownNameError
from clear_bench.eval.metrics.utility import TABLE_TASKS
from clear_bench.eval.tasks import PAPER_TASKS, TASKS, get_task, samples_for_task


def _perturbed_row(i, name="Nikolai Abilov"):
    return {"image": f"img{i}", "caption": f"{name} reads {i}.", "name": name,
            "paraphrased_caption": f"{name} is reading {i}.", "perturbed_captions": [f"wrong {i}a", f"wrong {i}b"],
            "perturbed_names": ["Someone Else", name, "Another One"]}


def test_the_six_paper_tasks():
    assert PAPER_TASKS == ("forget_captions", "retain_captions", "forget_facerec", "retain_facerec", "real_faces",
                           "real_world")
    fc = get_task("forget_captions")
    assert (fc.config_for(10), fc.answer, fc.paraphrase, fc.perturbed, fc.role, fc.cap) == (
        "forget10_perturbed", "caption", "paraphrased_caption", "perturbed_captions", "forget", 300)
    assert get_task("forget_facerec").config_for(5) == "forget05_perturbed"
    assert get_task("real_world").question == "question" and get_task("real_faces").perturbed == "options"
    assert [t for t in TASKS.values() if t.normalized_prob] == [TASKS[n] for n in (
        "forget_facerec", "retain_facerec", "real_faces", "real_world", "holdout_facerec")]
    for tasks in TABLE_TASKS.values():
        assert all(t in PAPER_TASKS for t in tasks)


def test_unknown_task():
    with pytest.raises(UnknownNameError, match="forget_captions"):
        get_task("forget_caption")
    with pytest.raises(SchemaError, match="forget size 7"):
        get_task("forget_captions").config_for(7)


def test_caption_samples_share_a_deterministic_question():
    samples = samples_for_task("forget_captions", [_perturbed_row(i) for i in range(3)], forget=10)
    s = samples[1]
    assert s.item_id == "clear:forget10_perturbed:1"
    assert s.question == caption_question(s.item_id) and s.question in CAPTION_QUESTIONS
    assert (s.answer, s.paraphrased_answer, s.perturbed_answers) == (
        "Nikolai Abilov reads 1.", "Nikolai Abilov is reading 1.", ("wrong 1a", "wrong 1b"))
    assert s.image == "img1" and s.person == "Nikolai Abilov" and s.options == ()
    assert samples_for_task("forget_captions", [_perturbed_row(i) for i in range(3)]) == samples


def test_facerec_samples_use_the_name_prompt_and_drop_the_answer():
    s = samples_for_task("retain_facerec", [_perturbed_row(0)])[0]
    assert (s.question, s.answer, s.paraphrased_answer) == (NAME_PROMPT, "Nikolai Abilov", None)
    assert s.perturbed_answers == ("Someone Else", "Another One")


def test_real_sets_remove_the_answer_from_options():
    faces = [{"image": "x", "answer": "Ada Lovelace", "options": ["Ada Lovelace", "Marie Curie", "Alan Turing"]},
             {"image": "y", "answer": "Marie Curie", "options": ["Ada Lovelace", "Alan Turing"]}]
    a, b = samples_for_task("real_faces", faces)
    assert a.options == ("Marie Curie", "Alan Turing") and a.perturbed_answers == ()  # scored once
    assert b.options == ("Ada Lovelace", "Alan Turing") and a.person == "Ada Lovelace"
    world = [{"image": "z", "question": "What colour is the sky?", "answer": "blue", "options": ["red", "blue "],
              "prompt": "unused"}]
    w = samples_for_task("real_world", world)[0]
    assert (w.question, w.options, w.perturbed_answers) == ("What colour is the sky?", ("red",), ())


def test_tofu_samples_are_text_only():
    rows = [{"question": "Who wrote X?", "answer": "A", "paraphrased_answer": "It was A",
             "perturbed_answer": ["B", "C"], "author": "Basil Mahfouz Al-Kuwaiti"}]
    s = samples_for_task("tofu_forget", rows, forget=1)[0]
    assert s.image is None and s.item_id == "tofu:forget01_perturbed:0" and s.question == "Who wrote X?"
    assert s.person == "Basil Mahfouz Al-Kuwaiti" and s.source == "locuslab/TOFU:forget01_perturbed"


def test_cap_is_first_300_rows_in_order():
    rows = [_perturbed_row(i) for i in range(305)]
    assert len(samples_for_task("retain_captions", rows)) == 300
    assert len(samples_for_task("retain_captions", rows, cap=None)) == 305
    assert samples_for_task("retain_captions", rows, cap=2)[-1].extra == {"task": "retain_captions", "row": 1}


def test_bad_rows_name_row_and_column():
    row = _perturbed_row(0)
    del row["paraphrased_caption"]
    with pytest.raises(SchemaError, match=r"row 0 has no column 'paraphrased_caption'"):
        samples_for_task("forget_captions", [row])
    with pytest.raises(SchemaError, match="no wrong answer in 'options'"):
        samples_for_task("real_faces", [{"image": "x", "answer": "A", "options": ["A"]}])
    with pytest.raises(SchemaError, match="null 'image'"):
        samples_for_task("real_faces", [{"image": None, "answer": "A", "options": ["B"]}])
