"""Array helpers shared by the classic localizers: JPEG round trips, block statistics, scaling to [0, 1].

Every analysis here works on 8 x 8 blocks (the JPEG grid) or multiples of them, so a 12-megapixel photo becomes
a map of ~190 000 cells: all statistics are whole-array numpy operations on those maps, never loops over pixels.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

JPEG_BLOCK = 8

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def luminance(image: np.ndarray) -> np.ndarray:
    """H x W x 3 uint8 RGB -> H x W float32 luma (JPEG's Y channel, 0..255)."""
    return image.astype(np.float32) @ _LUMA


def jpeg_roundtrip(image: np.ndarray, quality: int, *, grayscale: bool = False) -> np.ndarray:
    """Encode ``image`` as JPEG at ``quality`` in memory and decode it again (uint8, same shape as the input).

    ``grayscale`` encodes the luma channel alone (``image`` must then be H x W): three times cheaper, and the
    compression history that the ghost analysis looks for lives mostly in the luma channel anyway.
    """
    buffer = io.BytesIO()
    mode = "L" if grayscale else "RGB"
    # 4:4:4 chroma so that the round trip measures quantisation, not chroma subsampling.
    Image.fromarray(image, mode=mode).save(buffer, format="JPEG", quality=int(quality), subsampling=0)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert(mode))


def pad_to_blocks(array: np.ndarray, block: int) -> np.ndarray:
    """Pad the first two axes with edge values up to a multiple of ``block``."""
    height, width = array.shape[:2]
    pad_h, pad_w = (-height) % block, (-width) % block
    if not (pad_h or pad_w):
        return array
    pads = [(0, pad_h), (0, pad_w)] + [(0, 0)] * (array.ndim - 2)
    return np.pad(array, pads, mode="edge")


def block_view(array: np.ndarray, block: int) -> np.ndarray:
    """(H, W) -> (H/block, W/block, block*block) view of non-overlapping blocks (padded with edge values)."""
    padded = pad_to_blocks(array, block)
    rows, cols = padded.shape[0] // block, padded.shape[1] // block
    return padded.reshape(rows, block, cols, block).swapaxes(1, 2).reshape(rows, cols, block * block)


def block_mean(array: np.ndarray, block: int) -> np.ndarray:
    """Mean of each non-overlapping ``block`` x ``block`` cell of a 2-D array (float64 result).

    Reduces a (rows, block, cols, block) *view* in place of :func:`block_view`'s copy: on a 12-megapixel map
    that saves a 50 MB shuffle per call.
    """
    padded = pad_to_blocks(array, block)
    rows, cols = padded.shape[0] // block, padded.shape[1] // block
    # Contiguous axis first: summing the strided axes together is several times slower in numpy.
    cells = padded.reshape(rows, block, cols, block).astype(np.float32, copy=False)
    sums = cells.sum(axis=3).sum(axis=1, dtype=np.float64)
    return sums / (block * block)


def upsample(cell_map: np.ndarray, shape: tuple[int, int], block: int) -> np.ndarray:
    """Bring a per-block map back to exactly ``shape`` (H, W), bilinearly, block centres on block centres."""
    rows, cols = cell_map.shape
    scaled = Image.fromarray(np.ascontiguousarray(cell_map, dtype=np.float32), mode="F").resize(
        (cols * block, rows * block), Image.Resampling.BILINEAR
    )
    return np.asarray(scaled, dtype=np.float32)[: shape[0], : shape[1]]


def robust_z(values: np.ndarray, weights: np.ndarray | None = None, floor: float = 0.0) -> np.ndarray:
    """Standardise by the image-wide median and MAD, so that "unusual" means unusual *for this image*.

    ``weights`` (same shape, >= 0) restricts the reference statistics to reliable cells (e.g. not saturated);
    every cell still gets a score. ``floor`` is the smallest spread used, in the map's own units: a map that is
    near-constant over most of the image (dq on flat regions) would otherwise turn tiny differences into
    z-scores in the thousands.
    """
    reference = values if weights is None else values[weights > 0.5]
    if reference.size < 8:
        reference = values.ravel()
    center = float(np.median(reference))
    spread = 1.4826 * float(np.median(np.abs(reference - center)))
    spread = max(spread, 1e-6 + 1e-3 * abs(center), floor)
    return (values - center) / spread


def squash(z: np.ndarray, center: float = 2.0, width: float = 1.0) -> np.ndarray:
    """Strictly monotonic map of anomaly scores to [0, 1]: ``z = center`` -> 0.5.

    A logistic rather than a clip keeps the ranking of every pixel (no ties at 0 or 1), which is what a
    localizer's pixel AUC measures.
    """
    scaled = np.clip((np.asarray(z, dtype=np.float64) - center) / width, -60.0, 60.0)
    return (1.0 / (1.0 + np.exp(-scaled))).astype(np.float32)


def smooth_cells(cell_map: np.ndarray, radius: int) -> np.ndarray:
    """Box-average a cell map over (2 * radius + 1)^2 neighbours: evidence from one block is noisy."""
    if radius <= 0:
        return cell_map
    from scipy.ndimage import uniform_filter

    return uniform_filter(cell_map, size=2 * radius + 1, mode="reflect")
