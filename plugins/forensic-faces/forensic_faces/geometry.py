"""Pure geometry on boxes and polygons (numpy and Pillow only).

Regions are polygons in full-image pixel coordinates (x, y), so that the pipeline can score any map against
them after mapping face-crop results back onto the frame. These helpers grow boxes by a margin, keep polygons
inside a crop, and rasterise a polygon to a mask.
"""

from __future__ import annotations

import math

import numpy as np

from forensic_core import Box


def expand_box(box: Box, margin: float, width: int, height: int) -> Box:
    """Grow ``box`` by ``margin`` times its width/height on each side, clipped to a ``width`` x ``height`` image.

    Deepfake detectors are trained on crops that include some context (hair line, jaw, neck), where blending
    seams lie; the margin gives them that context.
    """
    grow_x = round(margin * box.width)
    grow_y = round(margin * box.height)
    return Box(box.x0 - grow_x, box.y0 - grow_y, box.x1 + grow_x, box.y1 + grow_y).clip(width, height)


def scale_box(box: Box, scale: float, width: int, height: int) -> Box:
    """Map a box found on a copy resized by ``scale`` back onto the ``width`` x ``height`` original.

    The box is rounded outwards so that the mapped box never loses face pixels to rounding.
    """
    return Box(
        math.floor(box.x0 / scale),
        math.floor(box.y0 / scale),
        math.ceil(box.x1 / scale),
        math.ceil(box.y1 / scale),
    ).clip(width, height)


def overlap_of_smaller(a: Box, b: Box) -> float:
    """Intersection area over the smaller box's area: 1.0 when one box lies inside the other."""
    inter_w = min(a.x1, b.x1) - max(a.x0, b.x0)
    inter_h = min(a.y1, b.y1) - max(a.y0, b.y0)
    if inter_w <= 0 or inter_h <= 0:
        return 0.0
    return inter_w * inter_h / min(a.width * a.height, b.width * b.height)


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    inter_w = min(a.x1, b.x1) - max(a.x0, b.x0)
    inter_h = min(a.y1, b.y1) - max(a.y0, b.y0)
    if inter_w <= 0 or inter_h <= 0:
        return 0.0
    inter = inter_w * inter_h
    return inter / (a.width * a.height + b.width * b.height - inter)


def clip_polygon(polygon: np.ndarray, box: Box) -> np.ndarray:
    """Intersect a polygon with the rectangle of ``box`` (Sutherland-Hodgman).

    Returns a K x 2 float array, K = 0 when the polygon lies outside the box. Clipping (rather than clamping
    vertices) keeps the part of the region that is really inside the crop, with its shape.
    """
    points = [tuple(p) for p in np.asarray(polygon, dtype=float)]
    # Each edge of the box as (axis, bound, keep-if-greater).
    for axis, bound, keep_greater in ((0, box.x0, True), (0, box.x1, False), (1, box.y0, True), (1, box.y1, False)):
        if not points:
            break

        def inside(p: tuple[float, ...], axis: int = axis, bound: float = bound, keep: bool = keep_greater) -> bool:
            return p[axis] >= bound if keep else p[axis] <= bound

        def crossing(p: tuple[float, ...], q: tuple[float, ...], axis: int = axis, bound: float = bound) -> tuple:
            t = (bound - p[axis]) / (q[axis] - p[axis])
            point = [p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])]
            point[axis] = bound
            return tuple(point)

        clipped: list[tuple[float, ...]] = []
        for i, current in enumerate(points):
            previous = points[i - 1]
            if inside(current):
                if not inside(previous):
                    clipped.append(crossing(previous, current))
                clipped.append(current)
            elif inside(previous):
                clipped.append(crossing(previous, current))
        points = clipped
    return np.asarray(points, dtype=float).reshape(-1, 2)


def polygon_area(polygon: np.ndarray) -> float:
    """Unsigned area of a simple polygon (shoelace formula)."""
    pts = np.asarray(polygon, dtype=float)
    if len(pts) < 3:
        return 0.0
    x, y = pts[:, 0], pts[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def convex_hull(points: np.ndarray) -> np.ndarray:
    """Convex hull of 2-D points in counter-clockwise order (Andrew's monotone chain)."""
    pts = sorted({(float(x), float(y)) for x, y in np.asarray(points, dtype=float)})
    if len(pts) < 3:
        return np.asarray(pts, dtype=float).reshape(-1, 2)

    def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    upper: list[tuple[float, float]] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.asarray(lower[:-1] + upper[:-1], dtype=float)


def polygon_mask(polygon: np.ndarray, height: int, width: int, origin: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Rasterise a polygon into a ``height`` x ``width`` boolean mask (the core's rasteriser, crop-relative).

    ``origin`` is the (x, y) of the mask's top-left pixel in the polygon's coordinates: pass the crop box's
    corner to get a region mask for a face crop from a polygon given in full-image pixels.
    """
    from forensic_core.regions import polygon_mask as rasterise

    shifted = np.asarray(polygon, dtype=float) - np.asarray(origin, dtype=float)
    return rasterise(shifted, (0, 0, int(width), int(height)))
