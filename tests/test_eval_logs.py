import json
import math

import pytest

from clear_bench.errors import ClearBenchError
from clear_bench.eval.logs import (ItemRecord, list_tasks, read_run_info, read_task, task_done, task_path,
                                   write_run_info, write_task)
from _eval_records import rec


def _full(item_id="a", task="forget_captions"):
    return ItemRecord(item_id=item_id, task=task, answer="Ana reads.", answer_nll=3.0, answer_tokens=3,
                      person="Ana", paraphrase_nll=4.0, paraphrase_tokens=4, perturbed_nll=[6.0, 9.0],
                      perturbed_tokens=[3, 3], token_logprobs=[-1.0, -1.5, -0.5], token_mu=[-2.0] * 3,
                      token_sigma=[1.0] * 3, generation="Ana reads a book.", rouge_l=1.0)


def test_record_json_round_trip_and_means():
    r = _full()
    back = ItemRecord.from_json(json.loads(json.dumps(r.to_json())))
    assert back == r
    assert (r.answer_mean_nll, r.paraphrase_mean_nll, r.perturbed_mean_nll) == (1.0, 1.0, [2.0, 3.0])
    assert rec(ans=0.5, para=None).paraphrase_mean_nll == 0.5  # no paraphrase: the answer's


def test_record_keeps_unknown_fields_and_infinite_nll():
    obj = _full().to_json() | {"answer_nll": math.inf, "prompt_text": "USER: ..."}
    back = ItemRecord.from_json(json.loads(json.dumps(obj)))
    assert back.extra == {"prompt_text": "USER: ..."} and back.answer_nll == math.inf


@pytest.mark.parametrize("change,message", [
    ({"answer_tokens": 0}, "answer_tokens must be > 0"),
    ({"token_logprobs": [-1.0]}, "token_logprobs has 1 values, expected answer_tokens=3"),
    ({"perturbed_tokens": [3]}, "2 perturbed_nll values but 1 perturbed_tokens"),
    ({"paraphrase_tokens": None}, "paraphrase_nll and paraphrase_tokens"),
    ({"rouge_l": 1.5}, "rouge_l must be in"),
])
def test_record_validation(change, message):
    with pytest.raises(ClearBenchError, match=message):
        ItemRecord(**(_full().to_json() | change))


def test_write_read_resume(tmp_path):
    assert not task_done(tmp_path, "forget_captions")
    write_task(tmp_path, "forget_captions", [_full("a"), _full("b")])
    assert task_done(tmp_path, "forget_captions") and list_tasks(tmp_path) == ["forget_captions"]
    assert [r.item_id for r in read_task(tmp_path, "forget_captions")] == ["a", "b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["forget_captions.jsonl"]  # no temp file left


def test_write_rejects_foreign_records(tmp_path):
    with pytest.raises(ClearBenchError, match="belongs to task 'retain_captions'"):
        write_task(tmp_path, "forget_captions", [_full(task="retain_captions")])
    assert not task_done(tmp_path, "forget_captions")


def test_read_errors_name_file_and_line(tmp_path):
    write_task(tmp_path, "real_faces", [_full(task="real_faces")])
    path = task_path(tmp_path, "real_faces")
    path.write_text(path.read_text() + "{not json\n")
    with pytest.raises(ClearBenchError, match=r"real_faces.jsonl:2: not a per-item record"):
        read_task(tmp_path, "real_faces")
    with pytest.raises(ClearBenchError, match="no per-item log for task 'real_world'"):
        read_task(tmp_path, "real_world")


def test_run_info(tmp_path):
    assert read_run_info(tmp_path) == {}
    write_run_info(tmp_path, {"seed": 42, "model": "tiny"})
    assert read_run_info(tmp_path) == {"seed": 42, "model": "tiny"}
