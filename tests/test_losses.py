"""Loss building blocks on toy tensors with hand-computed values."""
import math

import pytest
import torch

from clear_bench.baselines import losses as L


def _toy():
    # B=1, T=3, V=2; the answer is the token at position 2 (label 1), predicted by position 1
    logits = torch.tensor([[[0.0, 0.0], [0.0, math.log(3.0)], [5.0, 5.0]]])
    labels = torch.tensor([[-100, -100, 1]])
    return logits, labels


def test_sequence_logprob_and_ce():
    logits, labels = _toy()
    # p(label 1 | position 1) = 3 / (1 + 3)
    assert L.sequence_logprob(logits, labels).item() == pytest.approx(math.log(0.75))
    assert L.cross_entropy(logits, labels).item() == pytest.approx(-math.log(0.75))
    assert L.answer_lengths(labels).tolist() == [1]


def test_kl_is_zero_for_identical_and_positive_otherwise():
    logits, labels = _toy()
    assert L.kl_ref_to_model(logits, logits.clone(), labels).item() == pytest.approx(0.0, abs=1e-7)
    ref = logits.clone()
    ref[0, 1] = torch.tensor([0.0, 0.0])  # ref: uniform, model: (1/4, 3/4)
    expected = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    assert L.kl_ref_to_model(logits, ref, labels).item() == pytest.approx(expected, rel=1e-5)


def test_npo_dpo_simnpo_values():
    s, s_ref = torch.tensor([-2.0]), torch.tensor([-1.0])
    beta = 0.1
    assert L.npo_loss(s, s_ref, beta).item() == pytest.approx(-(2 / beta) * math.log(1 / (1 + math.exp(-beta))))
    # at θ = ref NPO equals (2/β) log 2
    assert L.npo_loss(s_ref, s_ref, beta).item() == pytest.approx(2 / beta * math.log(2))
    d = L.dpo_loss(torch.tensor([-1.0]), torch.tensor([-2.0]), torch.tensor([-3.0]), torch.tensor([-2.0]), 0.5)
    assert d.item() == pytest.approx(-math.log(1 / (1 + math.exp(-0.5 * (1.0 + 1.0)))))
    sim = L.simnpo_loss(torch.tensor([-4.0]), torch.tensor([2]), beta=2.0, gamma=0.5)
    assert sim.item() == pytest.approx(-(2 / 2.0) * math.log(1 / (1 + math.exp(-(4.0 - 0.5)))))


def test_masked_mse_ignores_masked_positions():
    h = torch.tensor([[[1.0, 1.0], [9.0, 9.0]]])
    t = torch.zeros_like(h)
    assert L.masked_mse(h, t, torch.tensor([[True, False]])).item() == pytest.approx(1.0)


def test_rmu_steers_answer_and_image_positions_only():
    """RMU's losses read the answer tokens (labels cropped to the last K positions, as the unlearning collator
    sends them) and the image tokens; never padding, the chat template or the question."""
    from clear_bench.baselines.rmu import steered_positions

    IMG = 7
    ids = torch.tensor([[0, 1, IMG, IMG, 3, 4, 5, 6],    # pad, template, 2 image tokens, question, 2-token answer
                        [1, 3, 3, 3, 3, 4, 5, 6]])       # no image, 3-token answer
    mask = torch.tensor([[0, 1, 1, 1, 1, 1, 1, 1], [1] * 8])
    labels = torch.tensor([[-100, -100, 5, 6], [-100, 4, 5, 6]])  # the last 4 positions
    got = steered_positions({"input_ids": ids, "attention_mask": mask, "labels": labels}, IMG)
    assert got.tolist() == [[False, False, True, True, False, False, True, True],
                            [False, False, False, False, False, True, True, True]]
    assert steered_positions({"input_ids": ids, "attention_mask": mask, "labels": labels}, None)[0, 2:4].sum() == 0
