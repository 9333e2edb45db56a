"""DAAM for supervised ViTs: one forward, one reverse pass, per-block maps and their accumulation.

The map of block l for one image is ``M^l_j = ReLU(sum_h a^{l,h}_j <v^{l,h}_j, alpha^l_h>)`` over patch tokens j,
with a the [class]-query attention row, v the values and alpha = ReLU(dy/dz^l[cls]) (design note daam.md,
sections 1, 2 and 4). The spatial features S are never materialised: the contraction over channels happens
per head in one einsum for all blocks at once, on the model's device.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import torch
from torch import nn

from forensic_daam.adapters import Recorder, VitAdapter, resolve_adapter
from forensic_daam.errors import UnsupportedModelError

Target = int | Sequence[int] | torch.Tensor | None


@dataclass(frozen=True)
class DaamResult:
    """DAAM output for a batch; tensors stay on the model's device.

    Attributes:
        block_maps: (B, L, h, w) per-block maps M^l, before any normalisation.
        accumulated: (B, L, h, w) accumulated maps D^b = sum_{l<=b} M^l.
        coefficients: (B, L, C) channel weights alpha^l used for the maps (ReLU(g) supervised, g for SSL).
        gradients: (B, L, C) raw g^l = d score / d z^l[cls].
        class_outputs: (B, L, C) z^l[cls], the class token's attention output per block.
        token_contributions: (B, L, N) signed per-token contributions sum_h a_j <v_j, alpha_h> for all tokens,
            prefix tokens included (the maps are the ReLU of its patch part).
        targets: (B,) explained class per image (-1 where the score is not a class logit).
        scores: (B,) the explained score y_t per image.
        grid: (h, w) patch grid of the input.
        num_prefix_tokens: T, the number of [class]/distillation/register tokens.
        attention, values: the [class] attention rows (B, L, H, N) and values (B, L, N, H, d) when the call asked
            for ``keep_internals=True``, else None.
    """

    block_maps: torch.Tensor
    accumulated: torch.Tensor
    coefficients: torch.Tensor
    gradients: torch.Tensor
    class_outputs: torch.Tensor
    token_contributions: torch.Tensor
    targets: torch.Tensor
    scores: torch.Tensor
    grid: tuple[int, int]
    num_prefix_tokens: int
    attention: torch.Tensor | None = None
    values: torch.Tensor | None = None

    @property
    def num_blocks(self) -> int:
        return int(self.block_maps.shape[1])

    def display(self, mode: str = "sigmoid", size: tuple[int, int] | None = None) -> torch.Tensor:
        """Accumulated maps mapped to [0, 1] (see :func:`forensic_daam.display.normalize_maps`), optionally resized."""
        from forensic_daam.display import normalize_maps, upsample

        maps = normalize_maps(self.accumulated, mode=mode)
        return upsample(maps, size).clamp(0, 1) if size is not None else maps


def class_token_contributions(attention: torch.Tensor, values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """sum_h a^h_j <v^h_j, w_h> for every token j: (..., H, N), (..., N, H, d), (..., H*d) -> (..., N).

    This is sum_c w_c S_{j,c} without building S (N x C per block).
    """
    heads, head_dim = values.shape[-2], values.shape[-1]
    weights = weights.reshape(*weights.shape[:-1], heads, head_dim).to(values.dtype)
    per_head = torch.einsum("...nhd,...hd->...hn", values, weights)
    return (attention.to(per_head.dtype) * per_head).sum(dim=-2)


def _host_targets(target: Target, batch: int, classes: int) -> torch.Tensor:
    """Validated (B,) CPU index tensor for an explicit ``target`` (int, sequence or tensor)."""
    if isinstance(target, bool):
        raise TypeError("target must be a class index, not a bool")
    if isinstance(target, int):
        targets = torch.full((batch,), target, dtype=torch.long)
    else:
        targets = torch.as_tensor(target).to(torch.long).flatten().cpu()
        if targets.numel() == 1:
            targets = targets.expand(batch).clone()
        if targets.numel() != batch:
            raise ValueError(f"target has {targets.numel()} entries for a batch of {batch}")
    bad = targets[(targets < 0) | (targets >= classes)]
    if bad.numel():
        raise ValueError(f"target class {int(bad[0])} is out of range for a model with {classes} outputs")
    return targets


def resolve_targets(target: Target, logits: torch.Tensor) -> torch.Tensor:
    """Turn ``target`` (None = predicted class, int, per-image sequence or tensor) into a (B,) index tensor."""
    if target is None:
        return logits.detach().argmax(dim=-1)
    return _host_targets(target, *logits.shape).to(logits.device)


def _select_logit(target: Target, device: torch.device) -> Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    # Explicit targets are read and copied to the device before the forward is queued: doing it afterwards
    # would make the host wait for the GPU to finish the forward before it can launch the reverse pass.
    host: torch.Tensor | None = None
    on_device: torch.Tensor | None = None
    if target is not None and not isinstance(target, int):
        host = torch.as_tensor(target).detach().to(torch.long).flatten().cpu()
        on_device = host.to(device)

    def select(output: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if isinstance(output, (tuple, list)):
            output = output[0]
        if output.ndim == 2 and output.shape[1] == 1:
            output = output[:, 0]
        if output.ndim == 1:
            if target is not None:
                raise ValueError("forward returns one score per image; target must be None")
            return output, torch.full_like(output, -1, dtype=torch.long)
        if output.ndim != 2:
            raise ValueError(f"forward must return scores (B,) or logits (B, K), got shape {tuple(output.shape)}")
        batch, classes = output.shape
        if target is None:
            targets = output.detach().argmax(dim=-1)
        elif on_device is None:
            assert isinstance(target, int)  # any other explicit target was moved to on_device above
            _host_targets(target, batch, classes)
            targets = torch.full((batch,), int(target), dtype=torch.long, device=output.device)
        else:
            _host_targets(host, batch, classes)
            targets = on_device.to(output.device).expand(batch)
        return output.gather(1, targets[:, None]).squeeze(1), targets

    return select


def trace(
    adapter: VitAdapter,
    inputs: Any,
    forward: Callable[[Any], torch.Tensor],
    select: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    *,
    rectify_coefficients: bool,
    keep_internals: bool = False,
    suffix_tokens: int = 0,
) -> DaamResult:
    """Run the hooked forward, one ``autograd.grad`` to every block's z, and build the maps.

    ``select(output) -> (scores (B,), targets (B,))`` picks the explained score from the forward's output.
    """
    recorder = Recorder(adapter.num_blocks, adapter.num_prefix_tokens, suffix_tokens)
    handles = adapter.install(recorder)
    try:
        with torch.inference_mode(False), torch.enable_grad():
            if isinstance(inputs, torch.Tensor) and inputs.is_inference():
                inputs = inputs.clone()
            scores, targets = select(forward(inputs))
            missing = [i for i, z in enumerate(recorder.outputs) if z is None or recorder.attention[i] is None]
            if missing:
                raise UnsupportedModelError(
                    f"the forward did not run block(s) {missing} of the hooked transformer; does forward= go "
                    "through this model?"
                )
            # Every block recorded its output and projections (checked just above): no None is left.
            outputs = cast("list[torch.Tensor]", recorder.outputs)
            attentions = cast("list[torch.Tensor]", recorder.attention)
            value_list = cast("list[torch.Tensor]", recorder.values)
            gradients = torch.autograd.grad(scores.sum(), outputs, allow_unused=True)
    finally:
        for handle in handles:
            handle.remove()
    with torch.no_grad():
        class_gradients = [
            torch.zeros_like(z[:, 0]) if grad is None else grad[:, 0]
            for grad, z in zip(gradients, outputs, strict=True)
        ]
        del gradients
        raw = torch.stack(class_gradients, dim=1).float()
        coefficients = raw.clamp_min(0) if rectify_coefficients else raw
        attention = torch.stack(attentions, dim=1)
        values = torch.stack(value_list, dim=1).float()
        contributions = class_token_contributions(attention, values, coefficients)
        batch, blocks = contributions.shape[:2]
        grid = recorder.grid
        assert grid is not None
        patches = slice(adapter.num_prefix_tokens, adapter.num_prefix_tokens + grid[0] * grid[1])
        block_maps = contributions[:, :, patches].clamp_min(0).reshape(batch, blocks, *grid)
        class_outputs = torch.stack([z.detach()[:, 0] for z in outputs], dim=1).float()
        return DaamResult(
            block_maps=block_maps,
            accumulated=block_maps.cumsum(dim=1),
            coefficients=coefficients,
            gradients=raw,
            class_outputs=class_outputs,
            token_contributions=contributions,
            targets=targets.detach(),
            scores=scores.detach(),
            grid=grid,
            num_prefix_tokens=adapter.num_prefix_tokens,
            attention=attention if keep_internals else None,
            values=values if keep_internals else None,
        )


def daam(
    model: nn.Module,
    images: Any,
    target: Target = None,
    *,
    forward: Callable[[Any], torch.Tensor] | None = None,
    family: str = "auto",
    keep_internals: bool = False,
    suffix_tokens: int = 0,
) -> DaamResult:
    """Dynamic Accumulated Attention Maps of a supervised ViT's decision.

    Args:
        model: a timm ``VisionTransformer`` with a [class] token or an open_clip ``VisionTransformer``.
        images: the preprocessed batch (B, 3, H, W) on the model's device (any size the model accepts).
        target: class to explain: None (each image's top class), an int, or one index per image.
        forward: ``forward(images) -> scores (B,) or logits (B, K)`` computed *through* ``model``, to explain a
            decision built on top of the ViT (e.g. a detector's score); default: ``model(images)``.
        family: ``"auto"``, ``"timm"`` or ``"open_clip"``.
        keep_internals: also return the [class] attention rows and the values (memory: B*L*N*C floats).
        suffix_tokens: tokens appended after the patch tokens by ``forward`` (e.g. learnable visual prompts): they
            take part in attention but are not spatial, so they are left out of the maps.

    Works inside ``torch.no_grad()``; leaves the model's hooks, training flag and requires_grad untouched.
    """
    adapter = resolve_adapter(model, family)
    device = next(model.parameters()).device
    return trace(
        adapter,
        images,
        forward or adapter.logits,
        _select_logit(target, device),
        rectify_coefficients=True,
        keep_internals=keep_internals,
        suffix_tokens=suffix_tokens,
    )
