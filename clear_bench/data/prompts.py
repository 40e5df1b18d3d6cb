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


def tokenizer_of(processor):
    """The tokenizer of a processor; a bare tokenizer (a causal LM's "processor") is its own."""
    return getattr(processor, "tokenizer", processor)


def is_text_only(processor) -> bool:
    """True for a bare tokenizer (causal LMs): no image processor, and chat templates that expect the
    content of a turn as a string (Llama-2's, Mistral's) rather than a list of typed parts."""
    return tokenizer_of(processor) is processor


def user_messages(question: str, has_image: bool, plain: bool = False) -> list[dict]:
    """One user turn: the image part first (when there is one), then the text; `plain`: the text alone as a
    string (text-only chat templates)."""
    if plain:
        if has_image:
            from ..errors import ClearBenchError

            raise ClearBenchError("a sample has an image, but the model is a text-only causal LM (a tokenizer, no "
                                  "image processor)")
        return [{"role": "user", "content": question}]
    content = ([{"type": "image"}] if has_image else []) + [{"type": "text", "text": question}]
    return [{"role": "user", "content": content}]


def render_prompt(processor, question: str, has_image: bool) -> str:
    """The prompt string, ending where the assistant's answer begins.

    For a bare tokenizer whose chat template writes the BOS token itself (Llama-2, Mistral) and whose
    tokenizer adds one too, the template's is dropped: the sequence starts with one BOS, as in training."""
    plain = is_text_only(processor)
    text = processor.apply_chat_template(user_messages(question, has_image, plain), add_generation_prompt=True,
                                         tokenize=False)
    bos = getattr(processor, "bos_token", None) if plain else None
    if bos and text.startswith(bos) and processor("")["input_ids"][:1] == [processor.bos_token_id]:
        text = text[len(bos):]
    return text


def sample_prompt(processor, sample) -> str:
    """A `Sample`'s prompt: `render_prompt` of its question and image, then its `prefill` (the answer opening the
    assistant's turn is given, "" for ordinary items)."""
    return render_prompt(processor, sample.question, sample.has_image) + sample.prefill


def end_of_turn(processor) -> str:
    """The string the chat template puts after an assistant answer (e.g. '<|im_end|>'), without trailing
    whitespace; the tokenizer's EOS when the template appends nothing."""
    cached = getattr(processor, "_clear_bench_eot", None)
    if cached is not None:
        return cached
    probe = "PROBE-ANSWER"
    plain = is_text_only(processor)
    msgs = user_messages("q", False, plain) + [
        {"role": "assistant", "content": probe if plain else [{"type": "text", "text": probe}]}]
    full = processor.apply_chat_template(msgs, tokenize=False)
    tail = full[full.rfind(probe) + len(probe):].rstrip() if probe in full else ""
    eot = tail or (tokenizer_of(processor).eos_token or "")
    try:
        processor._clear_bench_eot = eot
    except AttributeError:
        pass
    return eot
