"""A straightforward implementation of the DAAM authors' compute path, as the benchmark's baseline.

What their code does per block: a forward hook recomputes q, k, v and the full N x N attention from the block's
input, a tensor hook catches the gradient of the projection input, ``.backward()`` computes every parameter
gradient, the spatial features S (N x C) are materialised, reshaped with sqrt(N - 1), and each block's map is
copied to the CPU. (Their batch mixing, CUDA-at-import and NaN bugs are not reproduced: only the cost.)
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn


def authors_daam(model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    blocks = list(model.blocks)
    attentions: list[torch.Tensor] = [None] * len(blocks)  # type: ignore[list-item]
    values: list[torch.Tensor] = [None] * len(blocks)  # type: ignore[list-item]
    grads: list[torch.Tensor] = [None] * len(blocks)  # type: ignore[list-item]
    handles = []
    for index, block in enumerate(blocks):

        def recompute(module: nn.Module, args: Any, output: Any, index: int = index) -> None:
            x = args[0]
            batch, tokens, _ = x.shape
            qkv = module.qkv(x).reshape(batch, tokens, 3, module.num_heads, -1).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            attentions[index] = ((q @ k.transpose(-2, -1)) * module.scale).softmax(dim=-1).detach()
            values[index] = v.detach()

        def catch(module: nn.Module, args: Any, index: int = index) -> None:
            def save(grad: torch.Tensor) -> None:
                grads[index] = grad

            args[0].register_hook(save)

        handles.append(block.attn.register_forward_hook(recompute))
        handles.append(block.attn.proj.register_forward_pre_hook(catch))
    try:
        logits = model(images)
        model.zero_grad()
        one_hot = torch.zeros_like(logits).scatter_(1, targets[:, None], 1.0)
        (logits * one_hot).sum().backward()
    finally:
        for handle in handles:
            handle.remove()
    maps = []
    with torch.no_grad():
        for index in range(len(blocks)):
            attention, v = attentions[index], values[index]
            batch, heads, tokens, head_dim = v.shape
            spatial = (attention[:, :, 0, :, None] * v).permute(0, 2, 1, 3).reshape(batch, tokens, heads * head_dim)
            side = int(math.sqrt(tokens - 1))
            features = spatial[:, 1:].transpose(1, 2).reshape(batch, heads * head_dim, side, side)
            alpha = grads[index][:, 0].clamp_min(0)
            maps.append((alpha[:, :, None, None] * features).sum(dim=1).clamp_min(0).cpu())
    block_maps = torch.stack(maps, dim=1)
    return block_maps, block_maps.cumsum(dim=1)
