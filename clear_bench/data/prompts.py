"""Prompt choice and chat formatting (as the reference's `mm/dataset.py` at
github.com/somvy/multimodal_unlearning, without its unseeded question choice).

The caption request is chosen deterministically from the item id, and every answer variant of an
item (true, paraphrased, perturbed) shares it: the reference draws a fresh unseeded question per
variant, which makes truth ratios noisy.
"""
from __future__ import annotations

from ..utils import derive_seed

CAPTION_QUESTIONS = (
    "What can you see in this picture?",
    "Tell me about the content of this image",
    "Can you give a description of the image?",
    "What is depicted in the image?",
    "Explain what you observe in the picture.",
    "Describe the image in detail.",
    "What is the main subject of this image?",
    "Can you describe the scene or objects in the image?",
    "What is happening in this image?",
)
NAME_PROMPT = "The name of the person on the image is "


def caption_question(item_id: str) -> str:
    return CAPTION_QUESTIONS[derive_seed("caption-question", item_id) % len(CAPTION_QUESTIONS)]


def user_messages(question: str, has_image: bool) -> list[dict]:
    """One user turn: the image part first (when there is one), then the text."""
    content = ([{"type": "image"}] if has_image else []) + [{"type": "text", "text": question}]
    return [{"role": "user", "content": content}]


def render_prompt(processor, question: str, has_image: bool) -> str:
    """The prompt string, ending where the assistant's answer begins."""
    return processor.apply_chat_template(user_messages(question, has_image), add_generation_prompt=True,
                                         tokenize=False)


def end_of_turn(processor) -> str:
    """The string the chat template puts after an assistant answer (e.g. '<|im_end|>'), without trailing
    whitespace; the tokenizer's EOS when the template appends nothing."""
    cached = getattr(processor, "_clear_bench_eot", None)
    if cached is not None:
        return cached
    probe = "PROBE-ANSWER"
    msgs = user_messages("q", False) + [{"role": "assistant", "content": [{"type": "text", "text": probe}]}]
    full = processor.apply_chat_template(msgs, tokenize=False)
    tail = full[full.rfind(probe) + len(probe):].rstrip() if probe in full else ""
    eot = tail or (processor.tokenizer.eos_token or "")
    try:
        processor._clear_bench_eot = eot
    except AttributeError:
        pass
    return eot
