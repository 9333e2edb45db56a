"""Blind local noise level from the kurtosis concentration of band-pass responses (Lyu, Pan & Zhang, IJCV 2014).

Natural images' band-pass (here: 8 x 8 DCT AC) responses share nearly one kurtosis across frequencies; white
noise of variance s2 lowers each channel's excess kurtosis to ``k * (1 - s2 / v_k) ** 2``, where ``v_k`` is the
channel's local variance. So ``sqrt(kurtosis_k) = a - b / v_k`` is a line over the 63 channels, whose least
squares fit gives the local noise variance ``s2 = b / a`` in closed form. Local moments come from box filters on
the block grid. A paste from another camera, another JPEG quality or rescaled carries another noise level; the
map is how far each window's log noise level lies from the image's (robust z-score, either direction).
"""

from __future__ import annotations

import numpy as np

from forensic_classic.dq import block_dct
from forensic_classic.ela import CellMap
from forensic_classic.imaging import JPEG_BLOCK, luminance, robust_z


def local_noise_variance(coefficients: np.ndarray, window: int) -> np.ndarray:
    """(R, C, 8, 8) block DCT -> (R, C) noise variance estimate over ``window`` x ``window`` blocks."""
    from scipy.ndimage import uniform_filter

    ac = coefficients.reshape(*coefficients.shape[:2], 64)[..., 1:].astype(np.float64)
    size = (window, window, 1)
    m2 = uniform_filter(ac * ac, size=size, mode="reflect")
    m4 = uniform_filter((ac * ac) ** 2, size=size, mode="reflect")
    root_kurtosis = np.sqrt(np.clip(m4 / np.maximum(m2 * m2, 1e-6) - 3.0, 0.0, None))
    inverse_variance = 1.0 / np.maximum(m2, 1e-3)
    x_mean, y_mean = inverse_variance.mean(axis=-1), root_kurtosis.mean(axis=-1)
    x_centred = inverse_variance - x_mean[..., None]
    slope = (x_centred * (root_kurtosis - y_mean[..., None])).mean(axis=-1) / np.maximum(
        (x_centred * x_centred).mean(axis=-1), 1e-12
    )
    b = -slope
    a = y_mean + b * x_mean
    variance = np.where(a > 1e-6, b / np.maximum(a, 1e-6), 0.0)
    # The noise cannot exceed the quietest channel's total variance.
    return np.clip(variance, 0.0, m2.min(axis=-1))


def blindnoise_cells(image: np.ndarray, *, window: int = 8) -> CellMap:
    """Per-block robust z-score (absolute) of the log local noise variance."""
    height, width = image.shape[:2]
    rows, cols = -(-height // JPEG_BLOCK), -(-width // JPEG_BLOCK)
    z = np.zeros((rows, cols))
    if min(height, width) >= JPEG_BLOCK:
        coefficients = block_dct(luminance(image))
        log_variance = np.log(local_noise_variance(coefficients, window) + 0.05)
        grid = np.abs(robust_z(log_variance))
        z[:] = float(np.median(grid))
        z[: grid.shape[0], : grid.shape[1]] = grid
    return CellMap(z=z, block=JPEG_BLOCK, details={"window_blocks": window, "unit": "robust z of log noise variance"})
