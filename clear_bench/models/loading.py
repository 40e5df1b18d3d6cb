"""Load any Hugging Face image-text-to-text model and its processor, safely.

Safetensors only; `trust_remote_code` off unless the caller asks; bf16 + SDPA on GPU, float32 on CPU.
A folder holding a peft adapter is loaded on top of its base model.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

from ..errors import ClearBenchError

log = logging.getLogger(__name__)
VISION_MODULE_NAMES = ("vision_tower", "visual", "vision_model")


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def default_dtype(device: str):
    import torch

    return torch.bfloat16 if device.startswith("cuda") else torch.float32


def check_local_checkpoint(path: Path) -> None:
    """One-line errors for a folder that is not a safetensors Hugging Face checkpoint."""
    if not (path / "config.json").exists() and not (path / "adapter_config.json").exists():
        raise ClearBenchError(f"checkpoint folder {path} has no config.json (not a Hugging Face model folder)")
    if any(path.glob("*.safetensors")):
        return
    if any(path.glob("*.bin")) or any(path.glob("*.pt")) or any(path.glob("*.pth")):
        raise ClearBenchError(f"checkpoint folder {path} holds only pickle weights (*.bin/*.pt); clear-bench loads "
                              "safetensors only (convert with `model.save_pretrained(dir, safe_serialization=True)`)")
    raise ClearBenchError(f"checkpoint folder {path} has no weights (*.safetensors)")


def load_processor(name_or_path: str, trust_remote_code: bool = False):
    from transformers import AutoProcessor

    try:
        processor = AutoProcessor.from_pretrained(name_or_path, trust_remote_code=trust_remote_code)
    # Without torchvision, transformers 5.23 raises AttributeError (5.17: ImportError) for the video processor;
    # a folder saved without a video processor config raises OSError.
    except (ImportError, AttributeError, OSError) as e:
        if _is_qwen2_vl(name_or_path):
            from .qwen import load_image_only_processor

            log.info("%s: no video processor (%s); using the image-only Qwen2-VL processor", name_or_path,
                     type(e).__name__)
            return load_image_only_processor(name_or_path)
        fallback = _image_only_processor(name_or_path, trust_remote_code)
        if fallback is not None:
            log.info("%s: no video processor (%s); using its processor without one", name_or_path, type(e).__name__)
            return fallback
        reason = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
        hint = " (a missing package)" if isinstance(e, ImportError) else ""
        raise ClearBenchError(f"cannot load the processor of {name_or_path}{hint}: {reason}") from e
    if not hasattr(processor, "tokenizer"):  # AutoProcessor falls back to the bare tokenizer
        raise ClearBenchError(f"{name_or_path}: only a tokenizer could be loaded, no image processor "
                              "(processor_config.json missing, or its processor_class unknown to transformers)")
    return processor


def _image_only_processor(name_or_path: str, trust_remote_code: bool):
    """The checkpoint's processor class without its video processor (`tiny_families.image_only`), or None when
    the folder names no transformers processor class with a video processor."""
    import transformers

    from .tiny_families import image_only

    try:
        cfg = json.loads((Path(name_or_path) / "processor_config.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    cls = getattr(transformers, str(cfg.get("processor_class")), None)
    if cls is None or "video_processor" not in cls.get_attributes():
        return None
    try:
        return image_only(cls).from_pretrained(name_or_path, trust_remote_code=trust_remote_code)
    except (ImportError, AttributeError, OSError, ValueError, TypeError):
        return None


def _is_qwen2_vl(name_or_path: str) -> bool:
    try:
        from transformers import AutoConfig

        return AutoConfig.from_pretrained(name_or_path).model_type == "qwen2_vl"
    except (OSError, ValueError):
        return False


def check_compatible(model, processor, name: str) -> None:
    """Fail early when a processor does not belong to a model (vocabulary or image token mismatch)."""
    tok = getattr(processor, "tokenizer", processor)
    n_emb = model.get_input_embeddings().num_embeddings
    if len(tok) > n_emb:
        raise ClearBenchError(f"{name}: processor vocabulary ({len(tok)} tokens) is larger than the model's "
                              f"embedding table ({n_emb}); model and processor do not match")
    model_img = getattr(model.config, "image_token_id", None) or getattr(model.config, "image_token_index", None)
    # Gemma 3's processor names its image-start token `image_token_id`; its tokenizer knows the soft image token
    proc_img = (tok.convert_tokens_to_ids(tok.image_token) if getattr(tok, "image_token", None)
                else getattr(processor, "image_token_id", None))
    if model_img is not None and proc_img is not None and model_img != proc_img:
        raise ClearBenchError(f"{name}: the processor's image token id {proc_img} differs from the model's "
                              f"{model_img}; model and processor do not match")


def load_weights(auto_cls, name_or_path: str, device: str, dtype, trust_remote_code: bool = False):
    """`auto_cls.from_pretrained` on a Hub id or a local folder (safetensors only; a folder is checked first); a
    peft adapter folder is merged onto its base. Shared by the VLM and the causal-LM (text track) loaders."""
    path = Path(name_or_path)
    if path.exists():
        if not path.is_dir():
            raise ClearBenchError(f"model path {path} is a file; pass the checkpoint folder")
        check_local_checkpoint(path)
    kwargs = dict(dtype=dtype, use_safetensors=True, trust_remote_code=trust_remote_code)
    if device.startswith("cuda"):
        kwargs["attn_implementation"] = "sdpa"
    adapter = path / "adapter_config.json"
    try:
        if path.is_dir() and adapter.exists():
            from peft import PeftModel

            base = json.loads(adapter.read_text())["base_model_name_or_path"]
            model = auto_cls.from_pretrained(base, **kwargs)
            return PeftModel.from_pretrained(model, str(path)).merge_and_unload()
        return auto_cls.from_pretrained(name_or_path, **kwargs)
    except OSError as e:
        where = "" if path.exists() else f" (read as a Hub id: there is no local folder {name_or_path})"
        raise ClearBenchError(f"cannot load model {name_or_path}{where}: {str(e).splitlines()[0][:200]}") from e


def check_family(name_or_path: str, trust_remote_code: bool = False) -> None:
    """A checkpoint whose `model_type` is no family of the support matrix (`models/architectures.py`) is refused
    in one line naming the known ones, from its config.json alone (a local folder's, or the Hub's: no weights
    are fetched). A checkpoint with code of its own (`auto_map`) brings its own architecture: `load_weights` refuses
    it without `trust_remote_code` and runs it with."""
    from .architectures import check_model_type

    path = Path(name_or_path) / "config.json"
    try:
        if path.exists():
            config = json.loads(path.read_text())
        else:
            from transformers import AutoConfig

            config = AutoConfig.from_pretrained(name_or_path, trust_remote_code=trust_remote_code).to_dict()
    except (OSError, ValueError):  # no config to read (or remote code refused): load_weights says why
        return
    if "auto_map" not in config:  # remote code is refused or run by load_weights, whose message says which
        check_model_type(config.get("model_type", ""), name_or_path)


def load_model(name_or_path: str, device: str | None = None, dtype=None, trust_remote_code: bool = False,
               processor_path: str | None = None):
    """(model, processor) from a Hub id or a local folder; a peft adapter folder is merged onto its base."""
    from transformers import AutoModelForImageTextToText

    device = device or default_device()
    check_family(name_or_path, trust_remote_code)
    model = load_weights(AutoModelForImageTextToText, name_or_path, device, dtype or default_dtype(device),
                         trust_remote_code)
    processor = load_processor(processor_path or name_or_path, trust_remote_code)
    check_compatible(model, processor, name_or_path)
    return model.to(device), processor


def vision_module_prefixes(model) -> list[str]:
    """Names of the vision-tower modules (LLaVA: vision_tower; Qwen2-VL: visual; others: vision_model)."""
    out = []
    for name, _ in model.named_modules():
        leaf = name.rsplit(".", 1)[-1]
        if leaf in VISION_MODULE_NAMES and not any(name.startswith(p + ".") for p in out):
            out.append(name)
    return out
