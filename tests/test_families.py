"""Every architecture of the support matrix (`models/architectures.py`), on its tiny model: it memorises a few demo
persons, NPO and GA lower the forget answers' probability through LoRA, RMU steers a layer of its language model,
and the fast paths equal the plain ones (shared-prefix scoring vs naive, batched generation on merged weights vs
the unmerged adapters one item at a time), or the table refuses them with a reason. The row's claims are checked
against what happened, so the table `clear-bench ls models` prints cannot drift from the code."""
import copy
from dataclasses import replace

import pytest
import torch

from clear_bench.errors import ClearBenchError
from clear_bench.models.architectures import ARCHITECTURES, CAPABILITIES, check_model_type, tiny_architecture
from clear_bench.models.cross_attention import cross_attention_layers

PERSONS = 2  # forget persons (and as many retain persons), from the demo's forget10+tofu / retain90+tofu
EPOCHS, LR = 20, 5e-3  # the tiny models memorise the few persons in these (tens of steps)


def _build(name, corpus):
    from clear_bench.models.tiny import TINY_MODELS, build_tiny_qwen2vl, build_tiny_vlm

    small = {"tiny": lambda c: build_tiny_vlm(c, vocab_size=512, hidden=64, layers=2),
             "tiny-qwen2vl": lambda c: build_tiny_qwen2vl(c, vocab_size=512)}
    return small[name](corpus) if name in small else TINY_MODELS[name](corpus)


def _persons(samples, n):
    keep = list(dict.fromkeys(s.person for s in samples))[:n]
    return [s for s in samples if s.person in keep]


@pytest.fixture(scope="module")
def demo(demo_source):
    from clear_bench.data.convert import training_samples
    from clear_bench.training.finetune import corpus_of

    load = lambda c: training_samples(demo_source.load("clear", c), "demo", c)  # noqa: E731
    forget, retain = _persons(load("forget10+tofu"), PERSONS), _persons(load("retain90+tofu"), PERSONS)
    # scoring items: each with a paraphrase and two other answers as perturbed ones (image rows and text rows)
    answers = [s.answer for s in forget]
    items = [replace(s, paraphrased_answer=answers[(i + 1) % len(answers)],
                     perturbed_answers=(answers[(i + 2) % len(answers)], answers[(i + 3) % len(answers)]))
             for i, s in enumerate(forget)]
    return {"corpus": corpus_of(demo_source), "forget": forget, "retain": retain, "items": items}


def _answer_prob(model, proc, samples) -> float:
    """Mean per-token probability of the true answers (naive scoring)."""
    from clear_bench.eval.scoring import score_naive

    model.eval()
    scores = score_naive(model, proc, samples, batch_size=8)
    return sum(float(torch.tensor(-s.variants[0].nll / s.variants[0].tokens).exp()) for s in scores) / len(scores)


def _unlearn(model, proc, method, forget, retain, epochs, lr, lora_r=8):
    from clear_bench.baselines import get_method
    from clear_bench.training.loop import TrainConfig
    from clear_bench.training.settings import UnlearnConfig
    from clear_bench.training.unlearn import make_pairs, unlearn

    cfg = UnlearnConfig(lora_r=lora_r, train=TrainConfig(epochs=epochs, lr=lr, batch_size=4, warmup_epochs=0))
    return unlearn(model, proc, get_method(method)(), make_pairs(forget, retain, 0), cfg)


def _scores_equal(model, proc, items) -> bool:
    from clear_bench.eval.scoring import score_naive, score_shared_prefix

    naive, fast = score_naive(model, proc, items, batch_size=5), score_shared_prefix(model, proc, items, batch_size=3)
    for a, b in zip(naive, fast):
        if [v.kind for v in a.variants] != [v.kind for v in b.variants]:
            return False
        for u, v in zip(a.variants, b.variants):
            if u.tokens != v.tokens or abs(u.nll - v.nll) > 1e-4 + 1e-5 * abs(u.nll):
                return False
    return True


def _generation_equal(target, merged, adapters, proc, items) -> bool:
    """Batched greedy generation on the merged weights == the unmerged adapters on `target`, one item at a time."""
    from peft import get_peft_model, set_peft_model_state_dict

    from clear_bench.eval.scoring import generate_answers

    peft_model = get_peft_model(copy.deepcopy(target), copy.deepcopy(adapters["config"]))
    set_peft_model_state_dict(peft_model, adapters["state"])
    peft_model.eval()
    batched = generate_answers(merged.eval(), proc, items, max_new_tokens=8, batch_size=4)
    alone = [generate_answers(peft_model, proc, [s], max_new_tokens=8, batch_size=1)[0] for s in items]
    assert len(set(alone)) > 1, alone  # the items' answers differ: equality below is not vacuous
    return batched == alone


@pytest.mark.slow
@pytest.mark.parametrize("arch", ARCHITECTURES, ids=[a.tiny for a in ARCHITECTURES])
def test_family_fine_tunes_unlearns_and_scores_fast(arch, demo, tmp_path):
    from clear_bench.data.collator import Collator
    from clear_bench.models.architectures import model_type
    from clear_bench.models.lora import lora_target_regex
    from clear_bench.training.loop import TrainConfig, train

    if arch.tiny == "tiny-smolvlm":
        pytest.importorskip("num2words", reason="SmolVLM2's processor needs num2words (the smolvlm extra)")
    torch.manual_seed(0)
    model, proc = _build(arch.tiny, demo["corpus"])
    assert model_type(model) in arch.model_types
    forget, retain, items = demo["forget"], demo["retain"], demo["items"]
    # LoRA goes on the language model's linear layers only: never the vision tower, never the LM head
    import re

    targets = re.compile(lora_target_regex(model))
    lm_linears = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear) and targets.match(n)]
    assert lm_linears and not any("lm_head" in n or "vision" in n or "visual" in n for n in lm_linears)

    before = _answer_prob(model, proc, forget)
    train(model, forget + retain, Collator(proc, answer_logits_only=True),
          TrainConfig(epochs=EPOCHS, lr=LR, batch_size=4, warmup_epochs=0, weight_decay=0.0), desc="fine-tune")
    target = model.eval()
    memorised = _answer_prob(target, proc, forget)
    assert memorised > max(0.5, 2 * before), (before, memorised)  # "finetune" is claimed by every row

    # saved and reloaded through load_model (the processor without torchvision: `models/loading.py`), same numbers
    from clear_bench.models.loading import load_model
    from clear_bench.models.tiny import save_tiny_vlm

    save_tiny_vlm(target, proc, tmp_path / "target")
    loaded, loaded_proc = load_model(str(tmp_path / "target"), device="cpu")
    assert type(loaded_proc).__name__ == type(proc).__name__ and loaded_proc.chat_template == proc.chat_template
    batch, again = Collator(proc)(items[:3]), Collator(loaded_proc)(items[:3])
    assert torch.equal(batch["input_ids"], again["input_ids"])
    with torch.no_grad():
        assert torch.allclose(target(**batch).loss, loaded.eval()(**again).loss, atol=1e-5)

    got = {"finetune": True}
    unlearned, result = _unlearn(copy.deepcopy(target), proc, "npo", forget, retain, epochs=3, lr=1e-2)
    npo = _answer_prob(unlearned, proc, forget)
    ga, _ = _unlearn(copy.deepcopy(target), proc, "ga", forget, retain, epochs=2, lr=1e-2)
    got["logit_losses"] = npo < memorised - 0.1 and _answer_prob(ga, proc, forget) < memorised - 0.1

    _, rmu_result = _unlearn(copy.deepcopy(target), proc, "rmu", forget, retain, epochs=1, lr=1e-3)
    layer = rmu_result.info["rmu"]["layer"]
    got["rmu"] = rmu_result.stopped_at is None and bool(rmu_result.losses) and layer >= 0
    cross = cross_attention_layers(target)
    if cross:  # Mllama: RMU steers a layer below the first cross-attention layer, and refuses one above
        from clear_bench.baselines import get_method

        assert layer < min(cross)
        rmu = get_method("rmu")
        with pytest.raises(ClearBenchError, match="at or above the first cross-attention layer"):
            rmu(rmu.Config(layer=min(cross)))._layer(target)

    unlearned.eval()
    got["shared_prefix"] = _scores_equal(unlearned, proc, items)
    got["merged_generation"] = _generation_equal(target, unlearned, result.adapters, proc, items)
    claimed = {c: arch.supports(c) for c in CAPABILITIES}
    assert got == claimed, f"{arch.name}: the table claims {claimed}, the tiny model gave {got} (npo {npo:.2f})"


def test_the_matrix_names_a_tiny_model_per_row_and_refusals_in_one_line():
    from clear_bench.models.tiny import TINY_MODELS

    assert all(a.tiny in TINY_MODELS for a in ARCHITECTURES)
    assert len({a.tiny for a in ARCHITECTURES}) == len(ARCHITECTURES)
    for a in ARCHITECTURES:
        assert all("\n" not in getattr(a, c) for c in CAPABILITIES)
    assert tiny_architecture("tiny-qwen2vl").name == "Qwen2-VL"


def test_an_unknown_model_family_is_one_line_naming_the_known_ones(tmp_path):
    import json

    from clear_bench.models.loading import load_model

    with pytest.raises(ClearBenchError) as e:
        check_model_type("blip_2", "Salesforce/blip2-opt-2.7b")
    assert "\n" not in str(e.value) and "'blip_2'" in str(e.value) and "Qwen2.5-VL (qwen2_5_vl)" in str(e.value)
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "blip_2"}))
    (folder / "model.safetensors").write_bytes(b"")  # never read: the family is refused first
    with pytest.raises(ClearBenchError, match=r"model family 'blip_2' is not one clear-bench knows; known: LLaVA"):
        load_model(str(folder), device="cpu")


def test_ls_models_prints_the_matrix_the_readme_carries(capsys):
    from pathlib import Path

    from clear_bench.cli import main
    from clear_bench.models.architectures import markdown_matrix

    assert main(["ls", "models"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["family", "tiny", "model"]
    for a in ARCHITECTURES:
        assert any(line.startswith(a.name) and a.tiny in line for line in out)
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert markdown_matrix() in readme, "README's model table differs from models/architectures.py"


def test_an_unknown_tiny_model_is_one_line_naming_the_known_ones():
    from clear_bench.training.families import FAMILIES

    with pytest.raises(ClearBenchError) as e:
        FAMILIES.get("vlm").check_model("tiny-blip", "multimodal")
    assert "\n" not in str(e.value) and "tiny-gemma3" in str(e.value) and "tiny-mllama" in str(e.value)


def test_every_preset_model_is_a_family_of_the_matrix():
    from clear_bench.presets import PRESETS

    known = {c for a in ARCHITECTURES for c in a.checkpoints} | {a.tiny for a in ARCHITECTURES}
    assert {p.model for p in PRESETS.values()} <= known
    assert {"paper", "llava", "llama-vision", "qwen2.5-3b", "qwen2.5-7b"} <= set(PRESETS)


def test_a_known_but_unsupported_family_says_why():
    with pytest.raises(ClearBenchError, match="'paligemma' is not supported: PaliGemma's processor wants an image"):
        check_model_type("paligemma", "google/paligemma-3b-mix-224")
