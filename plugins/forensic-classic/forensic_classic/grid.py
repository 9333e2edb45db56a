"""JPEG grid alignment: does each region's blocking follow the image's 8 x 8 grid?

Every JPEG save leaves slightly stronger luminance steps across the boundaries of its 8 x 8 blocks. A region
pasted at an arbitrary offset carries its source's blocking on a *shifted* grid, and loses the host's earlier
blocking. Per 8 x 8 cell we collect the absolute steps across each of the 8 column phases and 8 row phases,
pool them over a neighbourhood, and measure how strongly the image's dominant phase beats the other phases
there; cells where it does not (or where another phase wins) are anomalous.
"""

from __future__ import annotations

import numpy as np

from forensic_classic.ela import CellMap
from forensic_classic.imaging import JPEG_BLOCK, luminance, pad_to_blocks, robust_z, smooth_cells


def _phase_energy(steps: np.ndarray, axis: int) -> np.ndarray:
    """(H, W) absolute steps -> (rows, cols, 8): per cell, total step across each phase along ``axis``."""
    padded = pad_to_blocks(steps, JPEG_BLOCK)
    rows, cols = padded.shape[0] // JPEG_BLOCK, padded.shape[1] // JPEG_BLOCK
    blocks = padded.reshape(rows, JPEG_BLOCK, cols, JPEG_BLOCK)
    if axis == 1:  # steps between columns: phase is the column inside the block
        return blocks.sum(axis=1, dtype=np.float64)
    return blocks.sum(axis=3, dtype=np.float64).swapaxes(1, 2)


def grid_cells(image: np.ndarray, *, radius: int = 3, smoothing: int = 1) -> CellMap:
    """Per-cell robust z of the dominant-phase blocking contrast (low contrast -> high anomaly)."""
    luma = luminance(image)
    contrasts = []
    phases = []
    for axis in (0, 1):
        step = np.abs(np.diff(luma, axis=axis, append=np.take(luma, [-1], axis=axis)))
        # Edges make steps at every phase; clipping keeps one strong edge from deciding a neighbourhood.
        step = np.minimum(step, np.quantile(step[::4, ::4], 0.9) + 1.0)
        energy = _phase_energy(step, axis)
        pooled = np.stack([smooth_cells(energy[..., p], radius) for p in range(JPEG_BLOCK)], axis=-1)
        dominant = int(np.argmax(pooled.sum(axis=(0, 1))))
        others = np.delete(pooled, dominant, axis=-1)
        contrast = np.log((pooled[..., dominant] + 1e-3) / (others.mean(axis=-1) + 1e-3))
        contrasts.append(contrast)
        phases.append(dominant)
    total = smooth_cells(contrasts[0] + contrasts[1], smoothing)
    z = -robust_z(total)
    return CellMap(
        z=z,
        block=JPEG_BLOCK,
        details={"grid_phase": {"row": phases[0], "column": phases[1]}, "radius": radius, "unit": "robust z"},
    )
