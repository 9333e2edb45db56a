"""Non-aligned double JPEG (NA-DJPG): a region that still carries a JPEG grid shifted from the image's own.

A piece pasted at an arbitrary offset from a JPEG donor keeps the donor's quantisation lattice on *its* 8 x 8
grid, which lies at one of 63 non-zero shifts from the final save's grid (Bianchi & Piva, IEEE TIFS 2012). On
that shifted grid the donor region's low-frequency DCT coefficients sit near integer multiples of the donor's
steps; everywhere else they are spread uniformly. We compute the coefficients of the 8 x 8 block at *every*
pixel offset (separable 8-tap DCT filters), then for each shift, frequency and candidate step measure the local
agreement with a lattice, ``cos(2 pi c / q)``, averaged over windows of blocks minus its image-wide mean, in
units of its standard error: the strongest window picks the step per frequency, and the shift with the largest
sum over frequencies wins. The map is the local lattice agreement on that shift, robust z-scored.

A rescaled donor loses its lattice; so does one whose JPEG quality was as fine as the final save's.
"""

from __future__ import annotations

import numpy as np

from forensic_classic.dq import _dct_matrix
from forensic_classic.ela import CellMap
from forensic_classic.imaging import JPEG_BLOCK, luminance, robust_z

FREQUENCIES = ((0, 0), (0, 1), (1, 0), (1, 1), (0, 2), (2, 0))
STEPS = np.arange(3, 21, dtype=np.float32)
# Sum of |AC| below which a block is flat: a flat block's DC is a multiple of 8 on *any* grid (integer pixels).
FLAT_ACTIVITY = 10.0


def shifted_coefficients(luma: np.ndarray) -> np.ndarray:
    """(F, H, W): coefficient f of the 8 x 8 block whose top-left pixel is (y, x), for every (y, x)."""
    from scipy.ndimage import correlate1d

    matrix = _dct_matrix().astype(np.float32)
    centred = luma - 128.0
    by_row = {}
    out = np.empty((len(FREQUENCIES), *luma.shape), dtype=np.float32)
    for index, (u, v) in enumerate(FREQUENCIES):
        if u not in by_row:
            by_row[u] = correlate1d(centred, matrix[u], axis=0, origin=-4, mode="reflect")
        out[index] = correlate1d(by_row[u], matrix[v], axis=1, origin=-4, mode="reflect")
    return out


def _lattice_z(coef: np.ndarray, textured: np.ndarray, window: int) -> np.ndarray:
    """(Q, F, R, C) window z-score of lattice agreement, per candidate step, frequency and block."""
    from scipy.ndimage import uniform_filter

    steps = STEPS[:, None, None, None]
    informative = (np.abs(coef)[None] >= steps / 2) & textured
    agreement = np.where(informative, np.cos(2 * np.pi * coef[None] / steps), 0.0).astype(np.float32)
    count = informative.astype(np.float32)
    mean = agreement.sum(axis=(2, 3)) / np.maximum(count.sum(axis=(2, 3)), 1.0)
    size = (1, 1, window, window)
    excess = uniform_filter(agreement - mean[..., None, None] * count, size=size, mode="constant")
    n = uniform_filter(count, size=size, mode="constant")
    return excess * window / np.sqrt(np.maximum(n, 1.0 / window**2) / 2)


def search_grid(
    coefficients: np.ndarray, textured: np.ndarray, *, window: int, max_blocks: int
) -> tuple[float, int, int, list[int], np.ndarray]:
    """The non-zero grid shift whose coefficients show the strongest local lattice: (score, dy, dx, steps, z).

    The search sees a strided subset of at most ``max_blocks`` blocks per shift (a 12-megapixel photo has
    187 000), which keeps it fast while the windows still cover a paste of a few percent of the image.
    """
    height, width = coefficients.shape[1:]
    blocks = (height // JPEG_BLOCK) * (width // JPEG_BLOCK)
    stride = JPEG_BLOCK * max(1, int(np.ceil(np.sqrt(blocks / max_blocks))))
    best = (-np.inf, 0, 0, [3] * len(FREQUENCIES), np.zeros(len(FREQUENCIES)))
    for dy in range(JPEG_BLOCK):
        for dx in range(JPEG_BLOCK):
            if dy == 0 and dx == 0:
                continue
            rows, cols = (height - dy) // stride, (width - dx) // stride
            if rows < 1 or cols < 1:
                continue
            coef = coefficients[:, dy : dy + rows * stride : stride, dx : dx + cols * stride : stride]
            flat = textured[dy : dy + rows * stride : stride, dx : dx + cols * stride : stride]
            peak = _lattice_z(coef, flat, window).reshape(len(STEPS), len(FREQUENCIES), -1).max(axis=2)
            per_freq = peak.max(axis=0)
            score = float(per_freq.sum())
            if score > best[0]:
                best = (score, dy, dx, [int(STEPS[i]) for i in peak.argmax(axis=0)], per_freq)
    return best


def nadjpg_cells(
    image: np.ndarray, *, smoothing: int = 2, window: int = 7, min_z: float = 4.0, max_blocks: int = 12000
) -> CellMap:
    """Per-block lattice agreement on the best non-aligned grid, robust z-scored, on the image's 8 x 8 cells."""
    from scipy.ndimage import uniform_filter

    height, width = image.shape[:2]
    rows, cols = -(-height // JPEG_BLOCK), -(-width // JPEG_BLOCK)
    if min(height, width) < 2 * JPEG_BLOCK:
        return CellMap(z=np.zeros((rows, cols)), block=JPEG_BLOCK, details={"shift": None})
    coefficients = shifted_coefficients(luminance(image))
    textured = np.abs(coefficients[1:]).sum(axis=0) >= FLAT_ACTIVITY
    score, dy, dx, steps, per_freq = search_grid(coefficients, textured, window=window, max_blocks=max_blocks)
    grid_rows, grid_cols = (height - dy) // JPEG_BLOCK, (width - dx) // JPEG_BLOCK
    view = (
        slice(None),
        slice(dy, dy + grid_rows * JPEG_BLOCK, JPEG_BLOCK),
        slice(dx, dx + grid_cols * JPEG_BLOCK, JPEG_BLOCK),
    )
    coef, flat = coefficients[view], textured[view[1:]]
    evidence = np.zeros((grid_rows, grid_cols), dtype=np.float64)
    count = np.zeros_like(evidence)
    used = {}
    for index, step in enumerate(steps):
        if per_freq[index] < min_z:
            continue
        informative = (np.abs(coef[index]) >= step / 2) & flat
        evidence += np.where(informative, np.cos(2 * np.pi * coef[index] / step), 0.0)
        count += informative
        used["{},{}".format(*FREQUENCIES[index])] = {"step": step, "z": round(float(per_freq[index]), 2)}
    side = 2 * smoothing + 1
    local = uniform_filter(evidence, side) / np.sqrt(np.maximum(uniform_filter(count, side), 1.0 / side**2))
    z_grid = robust_z(local)
    # The shifted grid's blocks straddle the image's cells: give each cell the block covering most of it.
    z = np.full((rows, cols), float(np.median(z_grid)))
    r0, c0 = (dy + JPEG_BLOCK // 2) // JPEG_BLOCK, (dx + JPEG_BLOCK // 2) // JPEG_BLOCK
    r1, c1 = min(rows, r0 + grid_rows), min(cols, c0 + grid_cols)
    z[r0:r1, c0:c1] = z_grid[: r1 - r0, : c1 - c0]
    details = {
        "shift": [dy, dx],
        "search_score": round(score, 2),
        "frequencies": used,
        "unit": "robust z of lattice agreement",
    }
    return CellMap(z=z, block=JPEG_BLOCK, details=details)
