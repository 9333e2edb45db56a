"""Occlusion sensitivity: a model-agnostic explainer for any detector of the pipeline."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from forensic_core import BuildContext, ComponentError, Detection, Explanation, Figure, MediaItem


class OcclusionExplainer:
    """Hides each cell of a grid with the image's mean colour and records the detector's score drop.

    All grid x grid occluded copies of an item go to the detector in ONE batch, so model-based detectors batch
    them. The map is the positive drop (evidence *for* 'fake'), scaled by the largest drop.
    """

    def __init__(self, settings: Any, context: BuildContext | None = None) -> None:
        self.settings = settings

    def explain(
        self, items: Sequence[MediaItem], *, detector: Any, detections: Sequence[Detection] | None
    ) -> list[Explanation]:
        if detector is None:
            raise ComponentError("occlusion explains a detector, but the pipeline has none: add one under detectors:")
        return [self._explain_one(item, detector) for item in items]

    def _explain_one(self, item: MediaItem, detector: Any) -> Explanation:
        small = _downscale(item.image, self.settings.max_side)
        grid = self.settings.grid
        height, width = small.shape[:2]
        rows = np.linspace(0, height, grid + 1).round().astype(int)
        cols = np.linspace(0, width, grid + 1).round().astype(int)
        fill = small.reshape(-1, 3).mean(axis=0).astype(np.uint8)
        batch = [MediaItem(image=small, source=item.source)]
        for r in range(grid):
            for c in range(grid):
                hidden = small.copy()
                hidden[rows[r] : rows[r + 1], cols[c] : cols[c + 1]] = fill
                batch.append(MediaItem(image=hidden, source=item.source))
        scores = np.array([d.score for d in detector.detect(batch)], dtype=np.float64)
        drops = (scores[0] - scores[1:]).reshape(grid, grid)
        positive = np.clip(drops, 0, None)
        unit = positive / positive.max() if positive.max() > 0 else np.zeros_like(positive)
        return Explanation(
            maps={"occlusion": unit.astype(np.float32)},
            figures={"occlusion": Figure(_overlay_png(small, unit), ".png", "score drop when each cell is hidden")},
            text=f"base score {scores[0]:.3f}; largest drop {drops.max():.3f} when hiding the brightest cell",
            details={"base_score": float(scores[0]), "max_drop": float(drops.max()), "grid": grid},
        )


def _downscale(image: np.ndarray, max_side: int) -> np.ndarray:
    height, width = image.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    if scale == 1.0:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))


def _overlay_png(image: np.ndarray, unit: np.ndarray) -> bytes:
    heat = np.asarray(
        Image.fromarray((unit * 255).astype(np.uint8)).resize(image.shape[1::-1], Image.Resampling.NEAREST)
    )
    red = np.zeros_like(image)
    red[..., 0] = 255
    weight = (heat.astype(np.float32) / 255 * 0.6)[..., None]
    blended = (image * (1 - weight) + red * weight).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(blended).save(buffer, format="PNG")
    return buffer.getvalue()
