"""Error level analysis: how much each block changes when the image is saved again as JPEG.

A block whose last compression matched the re-save changes little; a block pasted from a source with another
compression history (another quality, or a grid shifted by the paste) changes by a different amount. The raw
error mostly tracks texture, so it is divided by the block's own high-frequency activity and standardised
against the image-wide distribution: what stands out is a *different* error per unit of texture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from forensic_classic.imaging import JPEG_BLOCK, block_mean, jpeg_roundtrip, luminance, robust_z, smooth_cells


@dataclass(frozen=True)
class CellMap:
    """An anomaly map on the 8 x 8 block grid: ``z`` in robust standard units, ``details`` for the report."""

    z: np.ndarray
    block: int
    details: dict


def activity(luma: np.ndarray, block: int) -> np.ndarray:
    """Mean absolute second difference per block: the texture that any re-compression error scales with."""
    from scipy.ndimage import correlate1d

    kernel = np.array([1.0, -2.0, 1.0], dtype=np.float32)
    second = np.abs(correlate1d(luma, kernel, axis=0, mode="reflect"))
    second += np.abs(correlate1d(luma, kernel, axis=1, mode="reflect"))
    return block_mean(second, block)


def ela_cells(image: np.ndarray, qualities: Sequence[int], *, smoothing: int = 1, two_sided: bool = True) -> CellMap:
    """Per-block ELA anomaly: log(re-save error / texture activity), averaged over qualities, robust z-scored."""
    block = JPEG_BLOCK
    luma = luminance(image)
    act = activity(luma, block)
    log_ratios = []
    for quality in qualities:
        error = np.abs(image.astype(np.int16) - jpeg_roundtrip(image, quality).astype(np.int16))
        cell_error = block_mean(error.mean(axis=2, dtype=np.float32), block)
        log_ratios.append(np.log((cell_error + 0.05) / (act + 1.0)))
    mean_ratio = smooth_cells(np.mean(log_ratios, axis=0), smoothing)
    reliable = act > np.percentile(act, 10)
    z = robust_z(mean_ratio, reliable)
    if two_sided:
        z = np.abs(z)
    return CellMap(z=z, block=block, details={"qualities": list(qualities), "unit": "robust z of log(error/activity)"})
