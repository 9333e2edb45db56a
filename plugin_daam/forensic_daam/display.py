"""Mapping raw DAAM maps to what people look at: [0, 1] maps at the input's size.

``sigmoid`` is the authors' default: E^b = sigmoid(5 * D^b / max(D^L)) - 0.5, then per-map min-max (they stop at
uint8 [0, 255]; here [0, 1] floats). ``global`` is their linear alternative (``global_max_min_norm``): every map on
the scale of the final one, see :func:`global_display`. ``minmax`` is per-map. Every division is guarded, so
all-zero maps come back as zeros, never NaN.
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
        return global_display(maps, eps)
    if mode == "minmax":
        return _minmax(maps, (-2, -1), eps)
    raise ValueError(f"display mode must be one of {DISPLAY_MODES}, not {mode!r}")


def global_display(maps: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """The authors' ``global_max_min_norm`` per image, as [0, 1] floats instead of truncated uint8.

    With g_max, g_min the extremes of the final map D^L and c_max, c_min those of D^b (after ReLU):
    E^b = (c_max - c_min) / (g_max - g_min) * max(0, (D^b - g_min) / (c_max - g_min + 1e-10)). Early maps, which
    hold less evidence, stay dim instead of being stretched to full contrast. Where their code divides by zero
    (a constant final map) the ratio is 0 here; the result is clamped to [0, 1] (their uint8 cast would wrap).
    """
    maps = maps.float().clamp_min(0)
    final = maps[:, -1:]
    global_max = final.amax(dim=(-2, -1), keepdim=True)
    global_min = final.amin(dim=(-2, -1), keepdim=True)
    current_max = maps.amax(dim=(-2, -1), keepdim=True)
    current_min = maps.amin(dim=(-2, -1), keepdim=True)
    scaled = ((maps - global_min) / (current_max - global_min + 1e-10)).clamp_min(0)
    span = global_max - global_min
    ratio = torch.where(span > eps, (current_max - current_min) / span.clamp_min(eps), torch.zeros_like(span))
    return (ratio * scaled).clamp(0, 1)


def upsample(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of (B, L, h, w) or (B, h, w) maps to ``size`` = (H, W) (align_corners=False)."""
    squeeze = maps.ndim == 3
    batched = maps[:, None] if squeeze else maps
    out = F.interpolate(batched.float(), size=tuple(size), mode="bilinear", align_corners=False)
    return out[:, 0] if squeeze else out


def place(maps: torch.Tensor, box: tuple[float, float, float, float], size: tuple[int, int]) -> torch.Tensor:
    """Maps of the model input (..., h, w) -> (..., H, W) on the item the input was cut from.

    ``box`` = (left, top, right, bottom) is the item region (pixel edges) that was resized onto the input; each
    item pixel centre samples the maps bilinearly at its position inside the box (the same sampling as
    :func:`upsample` for the whole-item box), and pixels outside the box, which the detector never saw, get 0.
    """
    left, top, right, bottom = (float(v) for v in box)
    if right <= left or bottom <= top:
        raise ValueError(f"input box {box} is empty: it must be (left, top, right, bottom) with right > left")
    height, width = size
    if (left, top, right, bottom) == (0.0, 0.0, float(width), float(height)):
        return upsample(maps, size)
    lead = maps.shape[:-2]
    flat = maps.float().reshape(1, -1, *maps.shape[-2:])
    xs = (torch.arange(width, device=maps.device, dtype=torch.float32) + 0.5 - left) / (right - left)
    ys = (torch.arange(height, device=maps.device, dtype=torch.float32) + 0.5 - top) / (bottom - top)
    grid = torch.stack(torch.meshgrid(2 * ys - 1, 2 * xs - 1, indexing="ij")[::-1], dim=-1)[None]
    sampled = F.grid_sample(flat, grid, mode="bilinear", padding_mode="border", align_corners=False)[0]
    inside = ((ys >= 0) & (ys <= 1))[:, None] & ((xs >= 0) & (xs <= 1))[None, :]
    return (sampled * inside).reshape(*lead, height, width)
