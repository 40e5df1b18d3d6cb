"""The face-ID model: a transformers ResNet whose pooled features are the face embedding, and an
additive-margin softmax head (AM-Softmax, Wang et al. 2018; s 30, m 0.4 as in CLEAR's `cv/AdMSLoss.py`).

The paper preset loads `microsoft/resnet-18` (ImageNet weights) from the Hub; the demo builds a tiny
ResNet from a `ResNetConfig` (random weights, offline).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ClearBenchError


@dataclass(frozen=True)
class BackboneConfig:
    """Which ResNet embeds the faces.

    Attributes:
        name: a Hub id or folder of a transformers ResNet checkpoint (paper: microsoft/resnet-18), or "tiny":
            a ResNet built from `hidden_sizes` / `depths` / `embedding_size` with random weights.
        hidden_sizes: channels of each stage of the tiny ResNet (the last is the embedding size).
        depths: basic blocks per stage of the tiny ResNet.
        embedding_size: channels of the tiny ResNet's stem.
    """

    name: str = "microsoft/resnet-18"
    hidden_sizes: tuple[int, ...] = (16, 32, 64)
    depths: tuple[int, ...] = (1, 1, 1)
    embedding_size: int = 16


def build_backbone(cfg: BackboneConfig) -> nn.Module:
    """A `transformers.ResNetModel`: random tiny one, or the checkpoint's (ImageNet) weights."""
    from transformers import ResNetConfig, ResNetModel

    if cfg.name == "tiny":
        rc = ResNetConfig(num_channels=3, embedding_size=cfg.embedding_size, hidden_sizes=list(cfg.hidden_sizes),
                          depths=list(cfg.depths), layer_type="basic", downsample_in_first_stage=False)
        return ResNetModel(rc)
    try:
        # a ResNetForImageClassification checkpoint: its "resnet." weights load, the ImageNet classifier is dropped
        return ResNetModel.from_pretrained(cfg.name)
    except OSError as e:
        raise ClearBenchError(f"cannot load the ResNet '{cfg.name}' ({str(e).splitlines()[0][:150]}); use a Hub id "
                              "or folder of a transformers ResNet, or the demo preset (offline)") from None


def embedding_dim(backbone: nn.Module) -> int:
    return int(backbone.config.hidden_sizes[-1])


class FaceNet(nn.Module):
    """Backbone -> embedding (pooled features), plus the AM-Softmax class weights over every identity."""

    def __init__(self, backbone: nn.Module, n_identities: int):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(embedding_dim(backbone), n_identities, bias=False)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.backbone(pixel_values).pooler_output.flatten(1)


def am_softmax_logits(emb: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor | None = None,
                      s: float = 30.0, m: float = 0.4) -> torch.Tensor:
    """s·(cos θ_j − m·[j = y]): cosines between the normalised embedding and normalised class weights, the true
    class's lowered by the margin m (no margin without labels). The reference's `AdMSoftmaxLoss` forgets to
    normalise the weights (it rebinds a loop variable); this is the published AM-Softmax."""
    cos = F.normalize(emb, dim=1) @ F.normalize(weight, dim=1).T
    if labels is not None:
        cos = cos - m * F.one_hot(labels, cos.shape[1]).to(cos.dtype)
    return s * cos


def am_softmax_loss(emb: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor, s: float = 30.0,
                    m: float = 0.4) -> torch.Tensor:
    """Mean AM-Softmax loss: cross-entropy of `am_softmax_logits` with the margin on the true class."""
    return F.cross_entropy(am_softmax_logits(emb, weight, labels, s, m), labels)
