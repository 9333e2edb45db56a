"""Double quantisation (DQ): blocks whose DCT coefficients do not follow the image's double-JPEG histogram.

When a JPEG is saved again on the same 8 x 8 grid, each DCT frequency's coefficient histogram becomes periodic
(values land only on some multiples of the final step: Lin et al., 2009). A region pasted at another offset
(or from an uncompressed source) went through the final quantisation only, so its coefficients fill the gaps
of that periodic pattern. Per frequency we estimate the final step from the coefficients themselves, find the
histogram's period, and score each coefficient by how unlikely its bin is under the periodic (unchanged) model
relative to a flat (tampered) one; a block's score is the sum of those log-likelihood ratios.
"""

from __future__ import annotations

import numpy as np

from forensic_classic.ela import CellMap
from forensic_classic.imaging import JPEG_BLOCK, luminance, robust_z, smooth_cells

# The first AC frequencies in zigzag order: they hold most nonzero coefficients.
ZIGZAG_AC = ((0, 1), (1, 0), (2, 0), (1, 1), (0, 2), (0, 3), (1, 2), (2, 1), (3, 0), (4, 0), (3, 1), (2, 2))
MAX_PERIOD = 12
# Smallest spread (block log-likelihood units) of the robust z-score: on photos with large flat regions most
# blocks carry no evidence, the median absolute deviation collapses towards 0 and the z-scores blew up to 10^5
# (skimage's clock). 0.25 is about the 15th percentile of the spread over the photo kit's images (median 0.64),
# so ordinary photos keep their own spread.
SPREAD_FLOOR = 0.25


def _dct_matrix(n: int = JPEG_BLOCK) -> np.ndarray:
    k = np.arange(n)[:, None]
    x = np.arange(n)[None, :]
    matrix = np.sqrt(2.0 / n) * np.cos(np.pi * (2 * x + 1) * k / (2 * n))
    matrix[0] /= np.sqrt(2.0)
    return matrix


def block_dct(luma: np.ndarray) -> np.ndarray:
    """(H, W) -> (rows, cols, 8, 8) orthonormal DCT of the whole 8 x 8 blocks (JPEG's own transform)."""
    rows, cols = luma.shape[0] // JPEG_BLOCK, luma.shape[1] // JPEG_BLOCK
    blocks = (luma[: rows * JPEG_BLOCK, : cols * JPEG_BLOCK] - 128.0).reshape(rows, JPEG_BLOCK, cols, JPEG_BLOCK)
    blocks = blocks.swapaxes(1, 2)
    matrix = _dct_matrix().astype(np.float32)
    return matrix @ blocks @ matrix.T


def estimate_step(coefficients: np.ndarray, max_step: int = 40) -> int:
    """Largest quantisation step the coefficients are (noisily) multiples of; 1 when none is evident."""
    sample = coefficients[np.abs(coefficients) >= 1.0]
    if sample.size < 50:
        return 1
    # 5000 coefficients pin a lattice down as well as all of them (the test is a mean resultant length).
    sample = sample[:: max(1, sample.size // 5000)].astype(np.float32)
    steps = np.arange(2, max_step + 1, dtype=np.float32)
    angles = (2 * np.pi / steps)[:, None] * sample[None, :]
    strength = np.hypot(np.cos(angles).mean(axis=1), np.sin(angles).mean(axis=1))
    lattice = np.flatnonzero(strength >= 0.5)
    return int(steps[lattice[-1]]) if lattice.size else 1


def periodic_ratio(histogram: np.ndarray, values: np.ndarray) -> tuple[int, np.ndarray | None]:
    """Find the histogram's period; return it and the folded, envelope-normalised bin weights (mean 1)."""
    best_period, best_strength, best_fold = 1, 0.0, None
    counts = histogram.astype(np.float64)
    for period in range(2, min(MAX_PERIOD, counts.size // 2) + 1):
        kernel = np.ones(period) / period
        envelope = np.convolve(counts, kernel, mode="same")
        usable = (envelope >= 8) & (values != 0)
        if usable.sum() < 2 * period:
            continue
        ratio = counts[usable] / envelope[usable]
        residues = np.mod(values[usable], period)
        fold_sum = np.bincount(residues, weights=ratio * envelope[usable], minlength=period)
        weight = np.bincount(residues, weights=envelope[usable], minlength=period)
        if (weight == 0).any():
            continue
        fold_mean = fold_sum / weight
        fold_mean = fold_mean / fold_mean.mean()
        strength = float(fold_mean.std())
        if strength > best_strength:
            best_period, best_strength, best_fold = period, strength, fold_mean
    if best_strength < 0.25:
        return 1, None
    return best_period, best_fold


def dq_cells(image: np.ndarray, *, smoothing: int = 1, frequencies: int = 12) -> CellMap:
    """Per-block log-likelihood ratio (tampered vs. double-compressed), robust z-scored over the image."""
    height, width = image.shape[:2]
    rows, cols = -(-height // JPEG_BLOCK), -(-width // JPEG_BLOCK)
    llr = np.zeros((rows, cols), dtype=np.float64)
    used = {}
    steps: dict[str, int] = {}
    coefficients = block_dct(luminance(image)) if min(height, width) >= JPEG_BLOCK else None
    if coefficients is not None:
        full_rows, full_cols = coefficients.shape[:2]
        for u, v in ZIGZAG_AC[:frequencies]:
            plane = coefficients[..., u, v]
            step = estimate_step(plane.ravel())
            steps[f"{u},{v}"] = step
            quantised = np.rint(plane / step).astype(np.int64)
            limit = int(min(np.percentile(np.abs(quantised), 99.5), 200))
            if limit < 4:
                continue
            values = np.arange(-limit, limit + 1)
            histogram = np.bincount(np.clip(quantised, -limit, limit).ravel() + limit, minlength=values.size)
            period, fold = periodic_ratio(histogram, values)
            if fold is None:
                continue
            evidence = -np.log(np.clip(fold, 0.05, None))[np.mod(quantised, period)]
            evidence[(quantised == 0) | (np.abs(quantised) > limit)] = 0.0
            llr[:full_rows, :full_cols] += evidence
            used[f"{u},{v}"] = {"step": step, "period": period}
    z = robust_z(smooth_cells(llr, smoothing), floor=SPREAD_FLOOR)
    return CellMap(
        z=z, block=JPEG_BLOCK, details={"frequencies": used, "steps": steps, "unit": "robust z of block log-likelihood"}
    )
