"""Noise-residual inconsistency: a pasted region rarely shares the host's noise level.

The residual is Immerkaer's (1996) second-difference operator, which cancels locally linear content; its mean
absolute value over non-edge pixels estimates the noise standard deviation per window. The map is how far each
window's log noise level lies from the image-wide distribution (robust z-score), in either direction.
"""

from __future__ import annotations

import numpy as np

from forensic_classic.ela import CellMap
from forensic_classic.imaging import block_view, luminance, robust_z, smooth_cells


def noise_cells(image: np.ndarray, *, block: int = 16, edge_quantile: float = 0.7, smoothing: int = 1) -> CellMap:
    """Per-window robust z-score of the log local noise level (Immerkaer estimator, edges excluded)."""
    from scipy.ndimage import correlate1d

    luma = luminance(image)
    kernel = np.array([1.0, -2.0, 1.0], dtype=np.float32)
    residual = np.abs(correlate1d(correlate1d(luma, kernel, axis=0), kernel, axis=1))
    grad = np.abs(correlate1d(luma, np.array([-1.0, 0.0, 1.0], dtype=np.float32), axis=0))
    grad += np.abs(correlate1d(luma, np.array([-1.0, 0.0, 1.0], dtype=np.float32), axis=1))
    threshold = np.quantile(grad[::4, ::4], edge_quantile)
    keep = (grad <= threshold).astype(np.float32)
    res_blocks, keep_blocks = block_view(residual * keep, block), block_view(keep, block)
    kept = keep_blocks.sum(axis=2)
    sigma = np.sqrt(np.pi / 2) / 6 * res_blocks.sum(axis=2) / np.maximum(kept, 1.0)
    log_sigma = smooth_cells(np.log(sigma + 0.1), smoothing)
    reliable = kept >= 0.25 * block * block
    z = np.abs(robust_z(log_sigma, reliable))
    return CellMap(z=z, block=block, details={"block": block, "unit": "robust z of log noise sigma"})
