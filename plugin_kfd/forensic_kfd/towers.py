"""Static types for the parts of open_clip's towers that KFD reads (types only: nothing here runs).

open_clip ships no type information, and torch types every sub-module attribute of an ``nn.Module`` as
``Tensor | Module``. These protocols state what open_clip's ``VisionTransformer`` and text towers actually hold;
``vision_tower`` and ``text_source`` apply them with a ``cast`` (no runtime check, no conversion).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, cast

import torch
from torch import nn

Tokenizer = Callable[[list[str]], torch.Tensor]
"""An open_clip tokenizer: texts -> token ids (N, context_length)."""


class VisionBlocks(Protocol):
    """open_clip's ``Transformer`` inside a ``VisionTransformer``."""

    width: int
    resblocks: nn.ModuleList


class VisionTower(Protocol):
    """open_clip's ``VisionTransformer`` (``clip.visual``), the only visual tower KFD accepts."""

    transformer: VisionBlocks
    image_size: tuple[int, int]  # open_clip stores it as a pair (to_2tuple)
    grid_size: tuple[int, int]
    ln_pre: nn.Module
    ln_post: nn.Module

    def __call__(self, images: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]: ...


class TextSource(Protocol):
    """The text-encoder modules of a ``CLIP`` model or of a ``CustomTextCLIP``'s ``TextTransformer``."""

    token_embedding: nn.Embedding
    positional_embedding: torch.Tensor
    transformer: nn.Module
    attn_mask: torch.Tensor | None
    ln_final: nn.Module
    text_projection: nn.Linear | torch.Tensor | None


def vision_tower(clip: nn.Module) -> VisionTower:
    """``clip.visual``, typed as open_clip's VisionTransformer."""
    return cast(VisionTower, clip.visual)


def text_source(clip: nn.Module) -> TextSource:
    """``clip.text`` where the model has one (CustomTextCLIP), else the model itself (CLIP)."""
    return cast(TextSource, getattr(clip, "text", clip))
