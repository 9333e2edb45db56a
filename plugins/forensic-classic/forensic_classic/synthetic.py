"""Generated splices with exact ground truth, for tests and benchmarks.

A realistic splice has a compression history: the host photo was a JPEG (quality ``host_quality``), the pasted
region came from another JPEG (``donor_quality``), possibly rescaled, pasted at an arbitrary offset (so its
8 x 8 grid is misaligned with the host's), and the result was saved once more (``final_quality``). The paste
mask is the ground truth. A pristine counterpart goes through the same saves without the paste, so that a
detector is compared against images with the same compression history except for the forgery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from forensic_classic.imaging import jpeg_roundtrip


@dataclass(frozen=True)
class SyntheticCase:
    """One generated image: ``mask`` is True on pasted pixels (all False for a pristine image)."""

    image: np.ndarray
    mask: np.ndarray
    kind: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def is_forged(self) -> bool:
        return bool(self.mask.any())


def maybe_jpeg(image: np.ndarray, quality: int | None) -> np.ndarray:
    """JPEG round trip at ``quality``, or the image unchanged when ``quality`` is None (a lossless source)."""
    return image if quality is None else jpeg_roundtrip(image, quality)


def ellipse_mask(height: int, width: int, rng: np.random.Generator, area: float) -> np.ndarray:
    """A randomly rotated ellipse covering about ``area`` of a ``height`` x ``width`` canvas, centred."""
    aspect = rng.uniform(0.6, 1.6)
    semi_b = np.sqrt(area * height * width / (np.pi * aspect))
    semi_a = semi_b * aspect
    angle = rng.uniform(0, np.pi)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    yy -= (height - 1) / 2
    xx -= (width - 1) / 2
    cos, sin = np.cos(angle), np.sin(angle)
    u = (xx * cos + yy * sin) / semi_a
    v = (-xx * sin + yy * cos) / semi_b
    return (u * u + v * v) <= 1.0


def _resize(image: np.ndarray, scale: float) -> np.ndarray:
    if abs(scale - 1.0) < 1e-3:
        return image
    height, width = image.shape[:2]
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BICUBIC))


def _paste_region(
    host: np.ndarray, donor: np.ndarray, rng: np.random.Generator, area: float
) -> tuple[np.ndarray, np.ndarray]:
    """Paste an elliptical piece of ``donor`` into ``host`` at a random (grid-misaligned) offset."""
    height, width = host.shape[:2]
    side = np.sqrt(area) * 1.6
    box_h = min(int(height * side), donor.shape[0])
    box_w = min(int(width * side), donor.shape[1])
    shape_mask = ellipse_mask(box_h, box_w, rng, area * height * width / (box_h * box_w))
    src_y = int(rng.integers(0, donor.shape[0] - box_h + 1))
    src_x = int(rng.integers(0, donor.shape[1] - box_w + 1))
    dst_y = int(rng.integers(0, height - box_h + 1))
    dst_x = int(rng.integers(0, width - box_w + 1))
    patch = donor[src_y : src_y + box_h, src_x : src_x + box_w]
    out = host.copy()
    region = out[dst_y : dst_y + box_h, dst_x : dst_x + box_w]
    region[shape_mask] = patch[shape_mask]
    mask = np.zeros((height, width), dtype=bool)
    mask[dst_y : dst_y + box_h, dst_x : dst_x + box_w] = shape_mask
    return out, mask


def splice(
    host: np.ndarray,
    donor: np.ndarray,
    rng: np.random.Generator,
    *,
    area: float = 0.06,
    host_quality: int | None = 85,
    donor_quality: int | None = 70,
    final_quality: int | None = 92,
    scale: float = 1.0,
) -> SyntheticCase:
    """Paste part of ``donor`` (JPEG-saved, rescaled by ``scale``) into ``host`` (JPEG-saved), save again."""
    host_j = maybe_jpeg(host, host_quality)
    donor_j = _resize(maybe_jpeg(donor, donor_quality), scale)
    composite, mask = _paste_region(host_j, donor_j, rng, area)
    params: dict[str, Any] = {"host_quality": host_quality, "donor_quality": donor_quality}
    params |= {"final_quality": final_quality, "scale": scale, "area": area}
    return SyntheticCase(maybe_jpeg(composite, final_quality), mask, "splice", params)


def copy_move(
    image: np.ndarray,
    rng: np.random.Generator,
    *,
    area: float = 0.05,
    host_quality: int | None = 85,
    final_quality: int | None = 92,
) -> SyntheticCase:
    """Copy a region of the (JPEG-saved) photo to another place in it, then save again."""
    host_j = maybe_jpeg(image, host_quality)
    composite, mask = _paste_region(host_j, host_j, rng, area)
    params = {"host_quality": host_quality, "final_quality": final_quality, "area": area}
    return SyntheticCase(maybe_jpeg(composite, final_quality), mask, "copy-move", params)


def pristine(image: np.ndarray, *, host_quality: int | None = 85, final_quality: int | None = 92) -> SyntheticCase:
    """The untouched photo through the same saves as a splice: the negative class."""
    out = maybe_jpeg(maybe_jpeg(image, host_quality), final_quality)
    params = {"host_quality": host_quality, "final_quality": final_quality}
    return SyntheticCase(out, np.zeros(out.shape[:2], dtype=bool), "pristine", params)


def pixel_auc(heatmap: np.ndarray, mask: np.ndarray) -> float:
    """Area under the ROC curve of ``heatmap`` ranking ``mask`` pixels above the rest (ties count half)."""
    return rank_auc(np.asarray(heatmap, dtype=np.float64).ravel(), np.asarray(mask, dtype=bool).ravel())


def rank_auc(scores: np.ndarray, positives: np.ndarray) -> float:
    """Mann-Whitney AUC of ``scores`` for the boolean labels ``positives`` (average ranks for ties)."""
    from scipy.stats import rankdata

    scores = np.asarray(scores, dtype=np.float64)
    positives = np.asarray(positives, dtype=bool)
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUC needs at least one positive and one negative")
    ranks = rankdata(scores)
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
