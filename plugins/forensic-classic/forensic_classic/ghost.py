"""JPEG ghosts: the quality at which re-saving a block costs least betrays the quality it was saved at before.

Farid (2009): a region previously saved at quality q1 shows a dip of the re-save error at q1. Each block's error
curve over a range of qualities is normalised to [0, 1] (which cancels texture), and the map is the distance of
each block's curve from the image's typical curve: the pasted region has another history, hence another curve.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from forensic_classic.ela import CellMap, activity
from forensic_classic.imaging import JPEG_BLOCK, block_mean, jpeg_roundtrip, luminance, robust_z, smooth_cells


def ghost_cells(image: np.ndarray, qualities: Sequence[int], *, smoothing: int = 1) -> CellMap:
    """Per-block distance of the normalised re-save error curve from the image-wide median curve."""
    block = JPEG_BLOCK
    luma = luminance(image)
    luma8 = np.clip(np.rint(luma), 0, 255).astype(np.uint8)
    luma_f = luma8.astype(np.float32)
    curves = []
    for quality in qualities:
        diff = luma_f - jpeg_roundtrip(luma8, quality, grayscale=True).astype(np.float32)
        curves.append(smooth_cells(block_mean(np.square(diff, out=diff), block), smoothing))
    stack = np.stack(curves)
    low, high = stack.min(axis=0), stack.max(axis=0)
    normalised = (stack - low) / (high - low + 1.0)
    act = activity(luma, block)
    reliable = act > np.percentile(act, 10)
    if not reliable.any():  # a flat or one-block image: every block is as reliable as any other
        reliable = np.ones_like(reliable)
    reference = np.median(normalised[:, reliable], axis=1)
    distance = np.abs(normalised - reference[:, None, None]).mean(axis=0)
    z = robust_z(distance, reliable)
    return CellMap(z=z, block=block, details={"qualities": list(qualities), "unit": "robust z of curve distance"})
