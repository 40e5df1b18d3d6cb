"""diffusers backends: text-to-image faces and identity-consistent scenes (IP-Adapter FaceID).

Models are a Hub id or a local folder (`save_pretrained` layout), recorded in the stage manifest.
Every image uses a CPU `torch.Generator` seeded from the item, so a CPU run is byte-reproducible
(GPU runs are best-effort). Face identity for FaceID comes from a pluggable embedder:
`insightface` (ArcFace, what real FaceID checkpoints expect) or `pixels` (a fixed random
projection of the face's pixels: offline tests and tiny random-weight models only).
"""
from __future__ import annotations

import logging
import os
import re
import warnings
from pathlib import Path
from typing import Any, Callable

from ..errors import ClearBenchError
from .config import GenerationConfig
from .draw import save_png
from .faces import FACE_SOURCES, FaceSpec
from .registry import Registry
from .records import Scene
from .scenes import SCENE_RENDERERS, person_word

log = logging.getLogger(__name__)
HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
FACE_PROMPT = ("studio headshot portrait photo of a {age}-year-old {ethnicity} {person}, neutral grey background, "
               "looking at the camera, soft light, photorealistic")
NEGATIVE = "cartoon, drawing, blurry, deformed, several people, text, watermark"


def check_model(model: str | None, what: str, file: str | None = None) -> None:
    """Fail early unless `model` is an existing local folder or a Hub id (cached, when offline)."""
    if not model:
        raise ClearBenchError(f"{what} is not set: give a Hub id or a local diffusers folder")
    path = Path(model)
    if path.exists():
        if file and not (path / file).exists():
            raise ClearBenchError(f"{what}: {path} has no file '{file}'")
        return
    if not HUB_ID.match(model) or model.startswith((".", "/", "~")):
        raise ClearBenchError(f"{what}: model folder '{model}' does not exist")
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes"):
        from huggingface_hub import try_to_load_from_cache

        probe = file or "model_index.json"
        if not isinstance(try_to_load_from_cache(model, probe), str):
            raise ClearBenchError(f"{what}: '{model}' ({probe}) is not in the local Hub cache and HF_HUB_OFFLINE "
                                  "is set; download it first or give a local folder")


def _device(options: dict[str, Any]) -> str:
    import torch

    return options.get("device") or ("cuda" if torch.cuda.is_available() else "cpu")


def load_pipeline(model: str, options: dict[str, Any]):
    """A diffusers text-to-image pipeline (class from model_index.json) on the chosen device."""
    import torch
    from diffusers import DiffusionPipeline

    device = _device(options)
    dtype = getattr(torch, options.get("dtype") or ("float16" if device == "cuda" else "float32"))
    kw = {"revision": options["revision"]} if options.get("revision") else {}
    with warnings.catch_warnings():  # newer diffusers prefer `dtype`; older ones only know `torch_dtype`
        warnings.simplefilter("ignore", FutureWarning)
        pipe = DiffusionPipeline.from_pretrained(model, torch_dtype=dtype, **kw)
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def _call(pipe, prompt: str, seed: int, size: int, options: dict[str, Any], **extra):
    import torch

    return pipe(prompt=prompt, negative_prompt=options.get("negative_prompt", NEGATIVE),
                num_inference_steps=int(options.get("steps", 30)), guidance_scale=float(options.get("guidance", 5.0)),
                height=size, width=size, generator=torch.Generator("cpu").manual_seed(seed % 2**63),
                **extra).images[0]


def _info(backend: str, options: dict[str, Any], size: int) -> dict[str, Any]:
    return {"backend": backend, "size": size, **{k: v for k, v in options.items() if k != "device"},
            "device": _device(options)}


@FACE_SOURCES.register("diffusers")
class DiffusersFaces:
    """Faces from a text-to-image model prompted with the target age, ethnicity and gender.

    Options: model (required), revision, steps (30), guidance (5.0), negative_prompt, device, dtype, size.
    """

    @staticmethod
    def check(config: GenerationConfig, options: dict[str, Any]) -> None:
        check_model(options.get("model"), "face_options.model")

    def __init__(self, config: GenerationConfig, options: dict[str, Any]):
        self.check(config, options)
        self.options, self.size = options, int(options.get("size", config.image_size))
        self.pipe = load_pipeline(options["model"], options)
        self.info = _info("diffusers", options, self.size)

    def plan(self, specs: list[FaceSpec]) -> list[dict[str, Any]]:
        return [{"gender": s.gender, "age": s.age, "ethnicity": s.ethnicity,
                 "prompt": FACE_PROMPT.format(age=s.age, ethnicity=s.ethnicity if s.ethnicity != "unknown" else "",
                                              person=person_word(s.gender)).replace("  ", " ")} for s in specs]

    def render(self, spec: FaceSpec, params: dict[str, Any], path: Path) -> None:
        save_png(_call(self.pipe, params["prompt"], spec.seed, self.size, self.options), path)


FACE_EMBEDDERS: Registry[Callable] = Registry("face embedder")


@FACE_EMBEDDERS.register("pixels")
def pixel_embedder(dim: int) -> Callable:
    """A fixed random projection of the 16x16 grey face: deterministic, identity-preserving for tests."""
    import numpy as np

    proj = np.random.RandomState(0).standard_normal((256, dim)).astype(np.float32) / 16.0

    def embed(image) -> "np.ndarray":
        x = np.asarray(image.convert("L").resize((16, 16)), dtype=np.float32).reshape(-1) / 255.0 - 0.5
        v = x @ proj
        return v / (np.linalg.norm(v) + 1e-8)

    return embed


@FACE_EMBEDDERS.register("insightface")
def insightface_embedder(dim: int) -> Callable:
    """ArcFace (insightface `buffalo_l`) normalised 512-d embedding of the largest face."""
    import numpy as np

    try:
        from insightface.app import FaceAnalysis
    except ImportError as e:
        raise ClearBenchError("embedder 'insightface' needs the insightface package (pip install insightface "
                              "onnxruntime); or use scene_options.embedder='pixels' for tiny test models") from e
    app = FaceAnalysis(name="buffalo_l", providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    app.prepare(ctx_id=0, det_size=(640, 640))

    def embed(image) -> "np.ndarray":
        faces = app.get(np.asarray(image.convert("RGB"))[:, :, ::-1])
        if not faces:
            raise ClearBenchError("insightface found no face in a matched face image")
        face = max(faces, key=lambda f: (f.bbox[2] - f.bbox[0]) * (f.bbox[3] - f.bbox[1]))
        return face.normed_embedding[:dim]

    return embed


@SCENE_RENDERERS.register("ip_adapter_faceid")
class FaceIDScenes:
    """Scenes from a text-to-image model conditioned on the matched face via IP-Adapter FaceID.

    Options: model, ip_adapter (Hub id or folder), ip_adapter_subfolder (""), ip_adapter_weight (file
    name), embedder ("insightface" or "pixels"), scale (0.7), steps, guidance, negative_prompt, device.
    """

    @staticmethod
    def check(config: GenerationConfig, options: dict[str, Any]) -> None:
        check_model(options.get("model"), "scene_options.model")
        sub = options.get("ip_adapter_subfolder") or ""
        weight = options.get("ip_adapter_weight")
        if not weight:
            raise ClearBenchError("scene_options.ip_adapter_weight is not set (e.g. ip-adapter-faceid_sdxl.bin)")
        check_model(options.get("ip_adapter"), "scene_options.ip_adapter", f"{sub}/{weight}".lstrip("/"))
        FACE_EMBEDDERS.get(options.get("embedder", "insightface"))

    def __init__(self, config: GenerationConfig, options: dict[str, Any]):
        from PIL import Image

        self.check(config, options)
        self.options, self.size = options, int(options.get("size", config.image_size))
        self.pipe = load_pipeline(options["model"], options)
        self.pipe.load_ip_adapter(options["ip_adapter"], subfolder=options.get("ip_adapter_subfolder") or "",
                                  weight_name=options["ip_adapter_weight"], image_encoder_folder=None)
        self.pipe.set_ip_adapter_scale(float(options.get("scale", 0.7)))
        proj = self.pipe.unet.encoder_hid_proj.image_projection_layers[0]
        dim = proj.ff.net[0].proj.in_features
        self.embed = FACE_EMBEDDERS.get(options.get("embedder", "insightface"))(dim)
        self._open = Image.open
        self.info = _info("ip_adapter_faceid", options, self.size)

    def render(self, scene: Scene, face, face_path: Path, path: Path) -> None:
        import torch

        unet = self.pipe.unet
        emb = torch.as_tensor(self.embed(self._open(face_path)), dtype=unet.dtype, device=unet.device)
        emb = emb.reshape(1, 1, -1)
        if float(self.options.get("guidance", 5.0)) > 1.0:  # classifier-free guidance: zero embedding first
            emb = torch.cat([torch.zeros_like(emb), emb])
        save_png(_call(self.pipe, scene.prompt, scene.seed, self.size, self.options, ip_adapter_image_embeds=[emb]),
                 path)
