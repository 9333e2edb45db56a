"""Copy-move trace: many blocks of the image repeat elsewhere in it at one and the same offset.

After Fridrich, Soukal & Lukas (2003): a region copied within a photo makes pairs of near-identical blocks that all
share the copy's displacement, while the near-identical blocks of a pristine photo (flat sky, regular texture)
are scattered over many offsets. On the luma, every 8 x 8 block (stride 1) is described by its
4 x 4 grid of 2 x 2 means; blocks are sorted along their first principal direction, each is compared with its
next few neighbours in that order, and the displacements of the matching, textured, distant pairs are counted.
The statistic is the count of the most common displacement (and its neighbours within 1 px), which JPEG noise
and grid misalignment blur only slightly. Whole-array numpy; ~0.3 s on a 512 px image.
"""

from __future__ import annotations

import math

import numpy as np

from forensic_classic.imaging import luminance

BLOCK = 8
NEIGHBOURS = 10
MAX_DIFFERENCE = 2.5  # mean absolute difference of the 16 means, grey levels
MIN_SPREAD = 6.0  # standard deviation of a block's means below which it is flat (flat blocks match anything)
MIN_DISTANCE = 24  # displacements shorter than this (pixels) are texture, not a copy
MAX_SIDE = 768


def _descriptors(luma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n x 16 block descriptors, n x 2 block positions) of every 8 x 8 block of the luma (stride 1)."""
    # 2 x 2 means at every pixel, then each 8 x 8 window = the 4 x 4 of them at steps of 2.
    pooled = (luma[:-1, :-1] + luma[1:, :-1] + luma[:-1, 1:] + luma[1:, 1:]) / 4
    rows, cols = pooled.shape[0] - BLOCK + 2, pooled.shape[1] - BLOCK + 2
    if rows <= 0 or cols <= 0:
        return np.zeros((0, 16), dtype=np.float32), np.zeros((0, 2), dtype=np.int64)
    parts = [pooled[i : i + rows, j : j + cols] for i in range(0, BLOCK, 2) for j in range(0, BLOCK, 2)]
    features = np.stack(parts, axis=-1).reshape(-1, 16).astype(np.float32)
    positions = np.moveaxis(np.mgrid[0:rows, 0:cols], 0, -1).reshape(-1, 2)
    return features, positions


def clone_statistics(image: np.ndarray) -> list[float]:
    """[log1p of the top displacement's matching blocks, that count over all matches + 1] of an RGB image.

    Images longer than ``MAX_SIDE`` are block-averaged down by an integer factor first (the stride-1 descriptors
    of a 12-megapixel photo would take 800 MB).
    """
    luma = luminance(image)
    factor = -(-max(luma.shape) // MAX_SIDE)
    if factor > 1:
        rows, cols = luma.shape[0] // factor, luma.shape[1] // factor
        luma = luma[: rows * factor, : cols * factor].reshape(rows, factor, cols, factor).mean(axis=(1, 3))
    features, positions = _descriptors(luma)
    textured = features.std(axis=1) >= MIN_SPREAD
    features, positions = features[textured], positions[textured]
    if len(features) < 2 * NEIGHBOURS:
        return [0.0, 0.0]
    centred = features - features.mean(axis=0)
    sample = centred[:: max(1, len(centred) // 4000)]
    direction = np.linalg.svd(sample.astype(np.float64), full_matrices=False)[2][0]
    order = np.argsort(centred @ direction, kind="stable")
    features, positions = features[order], positions[order]
    offsets = []
    for step in range(1, NEIGHBOURS + 1):
        difference = np.abs(features[step:] - features[:-step]).mean(axis=1)
        shift = positions[step:] - positions[:-step]
        far = np.hypot(shift[:, 0], shift[:, 1]) >= MIN_DISTANCE
        offsets.append(shift[(difference <= MAX_DIFFERENCE) & far])
    found = np.concatenate(offsets)
    if len(found) == 0:
        return [0.0, 0.0]
    # One sign per displacement: (dy, dx) and (-dy, -dx) are the same copy.
    flip = (found[:, 0] < 0) | ((found[:, 0] == 0) & (found[:, 1] < 0))
    found[flip] *= -1
    span = int(np.abs(found).max()) + 2
    counts = np.zeros((span + 1, 2 * span + 1), dtype=np.int64)
    np.add.at(counts, (found[:, 0], found[:, 1] + span), 1)
    # Allow 1 px of blur from JPEG noise and grid misalignment: sum each displacement's 3 x 3 neighbourhood.
    padded = np.pad(counts, 1)
    near = np.zeros_like(counts)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            near += padded[1 + dy : 1 + dy + counts.shape[0], 1 + dx : 1 + dx + counts.shape[1]]
    top = int(near.max())
    return [math.log1p(top), top / (len(found) + 1)]
