"""Qwen2-VL's processor without torchvision: images through PIL, no video processor."""
from __future__ import annotations


def image_only_processor_class():
    """Qwen2VLProcessor without its video processor, which needs torchvision (images work through PIL)."""
    from transformers import Qwen2VLProcessor
    from transformers.processing_utils import ProcessorMixin

    class ImageOnlyQwen2VLProcessor(Qwen2VLProcessor):
        def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
            self.image_token = getattr(tokenizer, "image_token", None) or "<|image_pad|>"
            self.video_token = getattr(tokenizer, "video_token", None) or "<|video_pad|>"
            self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
            self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
            ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)

    # Saved as "Qwen2VLProcessor": a machine with torchvision loads the full processor from the same folder,
    # one without it falls back to this class (`models/loading.py`).
    ImageOnlyQwen2VLProcessor.__name__ = ImageOnlyQwen2VLProcessor.__qualname__ = "Qwen2VLProcessor"
    return ImageOnlyQwen2VLProcessor


def load_image_only_processor(name_or_path: str):
    """A Qwen2-VL checkpoint's processor built from its tokenizer and PIL image processor."""
    from transformers import AutoTokenizer, Qwen2VLImageProcessorPil

    tok = AutoTokenizer.from_pretrained(name_or_path)
    image_proc = Qwen2VLImageProcessorPil.from_pretrained(name_or_path)
    return image_only_processor_class()(image_processor=image_proc, tokenizer=tok,
                                        chat_template=getattr(tok, "chat_template", None))
