"""Reference saliency methods for timm ViTs, for comparisons with DAAM (benchmarks, faithfulness studies).

* Attention rollout (Abnar & Zuidema 2020): head-averaged attention plus identity, row-normalised, multiplied
  through the blocks; the [class] row over patch tokens is the map (``readout="patches"``: the mean of the patch
  rows, for a model that decides from its patch tokens).
* Grad-CAM for ViTs (as in pytorch-grad-cam's ViT recipe): activations of the last block's first LayerNorm
  (the last place where patch tokens still reach the [class] token), channel weights = token-mean of the
  gradients, map = ReLU of the weighted sum over channels.

Both return (B, h, w) float maps on the model's device.
"""

from __future__ import annotations

from typing import Any, cast

import torch
from torch import nn

from forensic_daam.adapters import TimmAdapter, TimmAttention, TimmVit
from forensic_daam.attribution import Target, resolve_targets


def _grid(model: TimmVit, images: torch.Tensor) -> tuple[int, int]:
    patch_embed = model.patch_embed
    if hasattr(patch_embed, "dynamic_feat_size"):
        return tuple(patch_embed.dynamic_feat_size(tuple(images.shape[-2:])))
    grid = patch_embed.grid_size
    return grid[0], grid[1]


def attention_rollout(
    model: nn.Module, images: torch.Tensor, head_fusion: str = "mean", readout: str = "class"
) -> torch.Tensor:
    """Attention rollout maps (B, h, w) of a timm ViT (class-agnostic), read from the [class] or the patch rows."""
    if readout not in ("class", "patches"):
        raise ValueError(f"readout must be 'class' or 'patches', not {readout!r}")
    vit = TimmAdapter(model).vit
    attentions: list[torch.Tensor] = []

    def hook_for(attn: TimmAttention) -> Any:
        def hook(module: nn.Module, args: Any, output: torch.Tensor) -> None:
            batch, tokens, _ = output.shape
            qkv = output.detach().reshape(batch, tokens, 3, attn.num_heads, -1).permute(2, 0, 3, 1, 4)
            q, k = attn.q_norm(qkv[0]), attn.k_norm(qkv[1])
            weights = ((q.float() @ k.float().transpose(-2, -1)) * attn.scale).softmax(dim=-1)
            attentions.append(weights.mean(dim=1) if head_fusion == "mean" else weights.amax(dim=1))

        return hook

    attns = [cast(TimmAttention, block.attn) for block in vit.blocks]
    handles = [attn.qkv.register_forward_hook(hook_for(attn)) for attn in attns]
    try:
        with torch.no_grad():
            model(images)
    finally:
        for handle in handles:
            handle.remove()
    tokens = attentions[0].shape[-1]
    rollout = torch.eye(tokens, device=images.device).expand_as(attentions[0])
    for attention in attentions:
        mixed = attention + torch.eye(tokens, device=images.device)
        rollout = (mixed / mixed.sum(dim=-1, keepdim=True)) @ rollout
    prefix = int(vit.num_prefix_tokens)
    rows = rollout[:, 0, prefix:] if readout == "class" else rollout[:, prefix:, prefix:].mean(dim=1)
    return rows.reshape(images.shape[0], *_grid(vit, images))


def grad_cam(model: nn.Module, images: torch.Tensor, target: Target = None) -> torch.Tensor:
    """Grad-CAM maps (B, h, w) of a timm ViT for ``target`` (None = predicted class)."""
    vit = TimmAdapter(model).vit
    captured: list[torch.Tensor] = []

    def hook(module: nn.Module, args: Any, output: torch.Tensor) -> torch.Tensor:
        if not output.requires_grad:
            output = output.detach().requires_grad_(True)
        captured.append(output)
        return output

    norm1 = cast(nn.Module, vit.blocks[-1].norm1)
    handle = norm1.register_forward_hook(hook)
    try:
        with torch.enable_grad():
            logits = model(images)
            targets = resolve_targets(target, logits)
            score = logits.gather(1, targets[:, None]).sum()
            (gradient,) = torch.autograd.grad(score, captured[0])
    finally:
        handle.remove()
    prefix = int(vit.num_prefix_tokens)
    activations, gradient = captured[0].detach()[:, prefix:], gradient[:, prefix:]
    weights = gradient.mean(dim=1, keepdim=True)
    cam = (activations * weights).sum(dim=-1).clamp_min(0)
    return cam.reshape(images.shape[0], *_grid(vit, images)).float()
