"""Tiny random ViTs and a slow reference implementation of the authors' compute path.

The reference follows the authors' code: hooks recompute the full attention of every block from the block's
input, a tensor hook catches the gradient of the projection's input, ``.backward()`` runs with parameter
gradients, and the spatial features S are materialised block by block.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn

torch.set_num_threads(2)


def tiny_vit(**overrides: Any) -> nn.Module:
    from timm.models.vision_transformer import VisionTransformer

    config: dict[str, Any] = dict(img_size=32, patch_size=8, embed_dim=32, depth=3, num_heads=2, num_classes=5)
    config.update(overrides)
    torch.manual_seed(0)
    return VisionTransformer(**config).eval()


def tiny_distilled_vit() -> nn.Module:
    from timm.models.deit import VisionTransformerDistilled

    torch.manual_seed(0)
    return VisionTransformerDistilled(
        img_size=32, patch_size=8, embed_dim=32, depth=3, num_heads=2, num_classes=5
    ).eval()


def tiny_clip(**vision: Any) -> nn.Module:
    import open_clip
    from open_clip.model import CLIPTextCfg, CLIPVisionCfg

    torch.manual_seed(0)
    vision_cfg = CLIPVisionCfg(layers=3, width=32, head_width=16, patch_size=8, image_size=32, **vision)
    text_cfg = CLIPTextCfg(context_length=8, vocab_size=64, width=32, heads=2, layers=1)
    return open_clip.CLIP(embed_dim=16, vision_cfg=vision_cfg, text_cfg=text_cfg).eval()


def reference_timm_daam(model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
    """Authors' path for a timm ViT: per-block maps (B, L, h, w), S per block, z[cls] and g per block."""
    blocks = list(model.blocks)
    inputs: list[torch.Tensor] = [None] * len(blocks)  # type: ignore[list-item]
    outputs: list[torch.Tensor] = [None] * len(blocks)  # type: ignore[list-item]
    grads: list[torch.Tensor] = [None] * len(blocks)  # type: ignore[list-item]
    handles = []
    for index, block in enumerate(blocks):

        def keep_input(module: nn.Module, args: Any, index: int = index) -> None:
            inputs[index] = args[0].detach()

        def keep_z(module: nn.Module, args: Any, index: int = index) -> None:
            outputs[index] = args[0]

            def save(grad: torch.Tensor, index: int = index) -> None:
                grads[index] = grad

            args[0].register_hook(save)

        handles.append(block.attn.register_forward_pre_hook(keep_input))
        handles.append(block.attn.proj.register_forward_pre_hook(keep_z))
    try:
        with torch.enable_grad():
            logits = model(images)
            model.zero_grad()
            logits.gather(1, targets[:, None]).sum().backward()
    finally:
        for handle in handles:
            handle.remove()
        model.zero_grad(set_to_none=True)
    prefix = model.num_prefix_tokens
    grid = model.patch_embed.dynamic_feat_size(tuple(images.shape[-2:]))
    maps, features, class_outputs, gradients = [], [], [], []
    with torch.no_grad():
        for index, block in enumerate(blocks):
            attn = block.attn
            x = inputs[index]
            batch, tokens, width = x.shape
            qkv = attn.qkv(x).reshape(batch, tokens, 3, attn.num_heads, -1).permute(2, 0, 3, 1, 4)
            q, k, v = attn.q_norm(qkv[0]), attn.k_norm(qkv[1]), qkv[2]
            attention = ((q @ k.transpose(-2, -1)) * attn.scale).softmax(dim=-1)
            spatial = attention[:, :, 0, :, None] * v  # (B, H, N, d)
            spatial = spatial.permute(0, 2, 1, 3).reshape(batch, tokens, width)  # channel c = h*d + e
            alpha = grads[index][:, 0].clamp_min(0)
            feature_maps = spatial[:, prefix:].transpose(1, 2).reshape(batch, width, *grid)
            maps.append((alpha[:, :, None, None] * feature_maps).sum(dim=1).clamp_min(0).cpu())
            features.append(spatial)
            class_outputs.append(outputs[index].detach()[:, 0])
            gradients.append(grads[index][:, 0])
    return {
        "block_maps": torch.stack(maps, dim=1),
        "spatial": torch.stack(features, dim=1),
        "class_outputs": torch.stack(class_outputs, dim=1),
        "gradients": torch.stack(gradients, dim=1),
    }


def reference_open_clip_daam(
    visual: nn.Module,
    images: torch.Tensor,
    forward: Callable[[torch.Tensor], torch.Tensor],
    rows: torch.Tensor | None = None,
) -> torch.Tensor:
    """Authors' path through nn.MultiheadAttention: its own attention weights, dy/dz from dy/d(out) @ W_out.

    ``rows`` (N,) bool: the readout-rows formula over those query rows instead of the [class] row alone.
    """
    blocks = list(visual.transformer.resblocks)
    inputs: list[torch.Tensor] = [None] * len(blocks)  # type: ignore[list-item]
    grads: list[torch.Tensor] = [None] * len(blocks)  # type: ignore[list-item]
    handles = []
    for index, block in enumerate(blocks):

        def keep(module: nn.Module, args: Any, output: Any, index: int = index) -> None:
            inputs[index] = args[0].detach()

            def save(grad: torch.Tensor, index: int = index) -> None:
                grads[index] = grad

            output[0].register_hook(save)

        handles.append(block.attn.register_forward_hook(keep))
    try:
        with torch.enable_grad():
            forward(images).sum().backward()
    finally:
        for handle in handles:
            handle.remove()
        visual.zero_grad(set_to_none=True)
    grid = visual.grid_size
    maps = []
    with torch.no_grad():
        for index, block in enumerate(blocks):
            attn = block.attn
            x = inputs[index]
            batch, tokens, width = x.shape
            _, weights = attn(x, x, x, need_weights=True, average_attn_weights=False)  # (B, H, N, N)
            v = nn.functional.linear(x, attn.in_proj_weight, attn.in_proj_bias)[..., 2 * width :]
            v = v.reshape(batch, tokens, attn.num_heads, -1).transpose(1, 2)
            if rows is not None:
                grad = (grads[index] @ attn.out_proj.weight).clamp_min(0)
                grad = grad.reshape(batch, tokens, attn.num_heads, -1)[:, rows]
                signed = torch.einsum("bhjk,bhij,bihk->bj", v, weights[:, :, rows], grad)
                maps.append(signed[:, 1 : 1 + grid[0] * grid[1]].clamp_min(0).reshape(batch, *grid))
                continue
            spatial = (weights[:, :, 0, :, None] * v).permute(0, 2, 1, 3).reshape(batch, tokens, width)
            alpha = (grads[index] @ attn.out_proj.weight)[:, 0].clamp_min(0)
            feature_maps = spatial[:, 1:].transpose(1, 2).reshape(batch, width, *grid)
            maps.append((alpha[:, :, None, None] * feature_maps).sum(dim=1).clamp_min(0))
    return torch.stack(maps, dim=1)


def reference_readout_daam(
    model: nn.Module, images: torch.Tensor, forward: Callable[[torch.Tensor], torch.Tensor], rows: torch.Tensor
) -> torch.Tensor:
    """The readout-rows formula, written out for a timm ViT: full attention recomputed from each block's input,
    tensor hooks on z, ``.backward()``, then per block one einsum over readout rows i, heads h and channels k:

        M^l[j] = ReLU( sum_{i in R} sum_h sum_k V^l_h[j,k] * A^l_h[i,j] * ReLU(G^l_h[i,k]) )

    ``rows`` is the (N,) bool mask of R; returns the (B, L, h, w) block maps.
    """
    blocks = list(model.blocks)
    inputs: list[torch.Tensor] = [None] * len(blocks)  # type: ignore[list-item]
    grads: list[torch.Tensor] = [None] * len(blocks)  # type: ignore[list-item]
    handles = []
    for index, block in enumerate(blocks):

        def keep_input(module: nn.Module, args: Any, index: int = index) -> None:
            inputs[index] = args[0].detach()

        def keep_z(module: nn.Module, args: Any, index: int = index) -> None:
            def save(grad: torch.Tensor, index: int = index) -> None:
                grads[index] = grad

            args[0].register_hook(save)

        handles.append(block.attn.register_forward_pre_hook(keep_input))
        handles.append(block.attn.proj.register_forward_pre_hook(keep_z))
    try:
        with torch.enable_grad():
            forward(images).sum().backward()
    finally:
        for handle in handles:
            handle.remove()
        model.zero_grad(set_to_none=True)
    prefix = model.num_prefix_tokens
    grid = model.patch_embed.dynamic_feat_size(tuple(images.shape[-2:]))
    maps = []
    with torch.no_grad():
        for index, block in enumerate(blocks):
            attn = block.attn
            x = inputs[index]
            batch, tokens, width = x.shape
            qkv = attn.qkv(x).reshape(batch, tokens, 3, attn.num_heads, -1).permute(2, 0, 3, 1, 4)
            q, k, v = attn.q_norm(qkv[0]), attn.k_norm(qkv[1]), qkv[2]
            attention = ((q @ k.transpose(-2, -1)) * attn.scale).softmax(dim=-1)  # (B, H, N, N), rows = queries
            grad = torch.zeros(batch, tokens, width) if grads[index] is None else grads[index]
            grad = grad.clamp_min(0).reshape(batch, tokens, attn.num_heads, -1)[:, rows]  # (B, |R|, H, d)
            selected = attention[:, :, rows]  # (B, H, |R|, N)
            signed = torch.einsum("bhjk,bhij,bihk->bj", v, selected, grad)
            maps.append(signed[:, prefix : prefix + grid[0] * grid[1]].clamp_min(0).reshape(batch, *grid))
    return torch.stack(maps, dim=1)


@pytest.fixture
def vit() -> nn.Module:
    return tiny_vit()


@pytest.fixture
def images() -> torch.Tensor:
    return torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(1))


@pytest.fixture
def kit() -> Any:
    """The builders and reference implementations above (test modules cannot import conftest)."""
    import types

    return types.SimpleNamespace(
        tiny_vit=tiny_vit,
        tiny_distilled_vit=tiny_distilled_vit,
        tiny_clip=tiny_clip,
        reference_timm_daam=reference_timm_daam,
        reference_open_clip_daam=reference_open_clip_daam,
        reference_readout_daam=reference_readout_daam,
    )
