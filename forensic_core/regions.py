"""Naming where evidence lies: mean localization heat inside each named facial region."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from PIL import Image, ImageDraw

from forensic_core.results import Face, RegionScore


def polygon_mask(polygon: np.ndarray, bounds: tuple[int, int, int, int]) -> np.ndarray:
    """Rasterise a polygon (K x 2, x/y in image pixels) inside ``bounds`` = (x0, y0, x1, y1) only.

    Rasterising within the polygon's own bounding box keeps this cheap on 12-megapixel photos.
    """
    x0, y0, x1, y1 = bounds
    canvas = Image.new("1", (max(1, x1 - x0), max(1, y1 - y0)), 0)
    points = [(float(x) - x0, float(y) - y0) for x, y in np.asarray(polygon, dtype=np.float64)]
    if len(points) >= 3:  # fewer points enclose no area
        ImageDraw.Draw(canvas).polygon(points, fill=1, outline=1)
    return np.asarray(canvas, dtype=bool)


def region_scores(faces: Sequence[Face], heatmaps: Mapping[str, np.ndarray]) -> list[RegionScore]:
    """Mean heat per (face, region, localizer), highest first.

    ``heatmaps`` are full-frame [0, 1] maps keyed by localizer name; regions outside the frame are clipped.
    """
    scores: list[RegionScore] = []
    for face_index, face in enumerate(faces):
        for region, polygon in face.regions.items():
            pts = np.asarray(polygon, dtype=np.float64)
            if pts.size == 0:
                continue
            for component, heat in heatmaps.items():
                height, width = heat.shape
                x0, y0 = max(0, int(np.floor(pts[:, 0].min()))), max(0, int(np.floor(pts[:, 1].min())))
                x1, y1 = min(width, int(np.ceil(pts[:, 0].max())) + 1), min(height, int(np.ceil(pts[:, 1].max())) + 1)
                if x1 <= x0 or y1 <= y0:
                    continue
                mask = polygon_mask(pts, (x0, y0, x1, y1))
                if not mask.any():
                    continue
                value = float(heat[y0:y1, x0:x1][mask].mean())
                scores.append(RegionScore(face_index, region, component, value))
    return sorted(scores, key=lambda s: (-s.score, s.face_index, s.region, s.component))
