"""The two heads that read the stacked correlation maps: a forgery-mask localizer and a score classifier.

Both run one small network *per layer map*; grouped convolutions (``groups=layers``) run all of them in one
call, which is the same computation as separate per-layer modules, only batched.
"""

from __future__ import annotations

import torch
from torch import nn


def per_layer_convs(layers: int, classes: int, channels: int) -> list[nn.Module]:
    """Two 3x3 conv + GELU stages applied to each layer's map separately (``groups=layers``)."""
    return [
        nn.Conv2d(layers * classes, layers * channels, kernel_size=3, padding=1, groups=layers),
        nn.GELU(),
        nn.Conv2d(layers * channels, layers * channels, kernel_size=3, padding=1, groups=layers),
        nn.GELU(),
    ]


class LocalizerHead(nn.Module):
    """Per-layer conv block on the (upsampled) maps, concatenated, conv to 2 channels: mask logits.

    Input (B, L * 2, H, W): the 2-channel correlation map of each of L layers. Output (B, 2, H, W) logits of
    (pristine, deepfake) per pixel; softmax over the channel gives the forgery mask.
    """

    def __init__(self, layers: int, channels: int = 16, classes: int = 2) -> None:
        super().__init__()
        self.layer_blocks = nn.Sequential(*per_layer_convs(layers, classes, channels))
        self.fuse = nn.Conv2d(layers * channels, classes, kernel_size=3, padding=1)

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        return self.fuse(self.layer_blocks(maps))


class ClassifierHead(nn.Module):
    """Per-layer small CNN, global average pooling, concatenated, MLP: one forgery logit per image.

    Input (B, L * 2, h, w) at patch-grid resolution: bilinear upsampling adds no information for a pooled
    decision, so the classifier reads the maps before upsampling.
    """

    def __init__(self, layers: int, channels: int = 32, hidden: int = 64, classes: int = 2) -> None:
        super().__init__()
        self.layer_cnns = nn.Sequential(
            *per_layer_convs(layers, classes, channels), nn.AdaptiveAvgPool2d(1), nn.Flatten()
        )
        self.mlp = nn.Sequential(nn.Linear(layers * channels, hidden), nn.GELU(), nn.Linear(hidden, 1))

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.layer_cnns(maps)).squeeze(-1)
