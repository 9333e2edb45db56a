"""Mapping raw DAAM maps to what people look at: [0, 1] maps at the input's size.

``sigmoid`` is the authors' default: E^b = sigmoid(5 * D^b / max(D^L)) - 0.5, then per-map min-max (they stop at
uint8 [0, 255]; here [0, 1] floats). ``global`` is their older min-max over all blocks of an image; ``minmax`` is
per-map. Every division is guarded, so all-zero maps come back as zeros, never NaN.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from forensic_daam.options import DISPLAY_MODES


def _minmax(maps: torch.Tensor, dims: tuple[int, ...], eps: float) -> torch.Tensor:
    low = maps.amin(dim=dims, keepdim=True)
    span = maps.amax(dim=dims, keepdim=True) - low
    return ((maps - low) / span.clamp_min(eps)).clamp(0, 1)


def normalize_maps(maps: torch.Tensor, mode: str = "sigmoid", eps: float = 1e-8) -> torch.Tensor:
    """(B, L, h, w) accumulated maps -> finite maps in [0, 1] of the same shape.

    ``minmax`` also serves the per-block maps M^l (the authors' optional per-block normalisation).
    """
    maps = maps.float()
    if mode == "sigmoid":
        final_peak = maps[:, -1:].amax(dim=(-2, -1), keepdim=True).clamp_min(eps)
        return _minmax(torch.sigmoid(5.0 * maps / final_peak) - 0.5, (-2, -1), eps)
    if mode == "global":
        return _minmax(maps, (1, 2, 3), eps)
    if mode == "minmax":
        return _minmax(maps, (-2, -1), eps)
    raise ValueError(f"display mode must be one of {DISPLAY_MODES}, not {mode!r}")


def upsample(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of (B, L, h, w) or (B, h, w) maps to ``size`` = (H, W) (align_corners=False)."""
    squeeze = maps.ndim == 3
    batched = maps[:, None] if squeeze else maps
    out = F.interpolate(batched.float(), size=tuple(size), mode="bilinear", align_corners=False)
    return out[:, 0] if squeeze else out
