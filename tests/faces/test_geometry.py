"""Pure geometry: margins, mapping boxes back, clipping regions to a crop, rasterising regions."""

from __future__ import annotations

import numpy as np
import pytest

from forensic_core import Box
from forensic_faces.geometry import (
    box_iou,
    clip_polygon,
    convex_hull,
    expand_box,
    overlap_of_smaller,
    polygon_area,
    polygon_mask,
    scale_box,
)

SQUARE = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]])


def test_expand_box_adds_the_margin_on_each_side_and_clips() -> None:
    assert expand_box(Box(100, 100, 200, 150), 0.5, 1000, 1000) == Box(50, 75, 250, 175)
    assert expand_box(Box(10, 10, 110, 60), 0.5, 150, 70) == Box(0, 0, 150, 70)
    assert expand_box(Box(10, 10, 20, 20), 0.0, 30, 30) == Box(10, 10, 20, 20)


def test_scale_box_maps_back_rounding_outwards() -> None:
    assert scale_box(Box(10, 20, 30, 40), 0.5, 1000, 1000) == Box(20, 40, 60, 80)
    assert scale_box(Box(1, 1, 2, 2), 0.3, 1000, 1000) == Box(3, 3, 7, 7)
    assert scale_box(Box(1, 1, 100, 100), 0.5, 150, 150) == Box(2, 2, 150, 150)


def test_box_overlaps() -> None:
    assert overlap_of_smaller(Box(0, 0, 10, 10), Box(2, 2, 5, 5)) == 1.0
    assert box_iou(Box(0, 0, 10, 10), Box(5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert box_iou(Box(0, 0, 10, 10), Box(20, 20, 30, 30)) == 0.0


def test_clip_polygon_keeps_the_part_inside_the_box() -> None:
    clipped = clip_polygon(SQUARE, Box(5, -5, 20, 8))
    assert polygon_area(clipped) == pytest.approx(5 * 8)
    assert clipped[:, 0].min() >= 5 and clipped[:, 1].max() <= 8
    assert polygon_area(clip_polygon(SQUARE, Box(-1, -1, 11, 11))) == pytest.approx(100)
    assert len(clip_polygon(SQUARE, Box(20, 20, 30, 30))) == 0


def test_clip_polygon_cuts_a_triangle_along_its_slanted_edge() -> None:
    triangle = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    assert polygon_area(clip_polygon(triangle, Box(0, 0, 5, 10))) == pytest.approx(50 - 12.5)


def test_convex_hull_drops_inner_points() -> None:
    points = np.concatenate([SQUARE, [[5.0, 5.0], [2.0, 7.0]]])
    hull = convex_hull(points)
    assert {tuple(p) for p in hull} == {tuple(p) for p in SQUARE}
    assert polygon_area(hull) == pytest.approx(100)


def test_polygon_mask_rasterises_in_image_or_crop_coordinates() -> None:
    polygon = np.array([[20.0, 10.0], [29.0, 10.0], [29.0, 19.0], [20.0, 19.0]])
    mask = polygon_mask(polygon, 40, 50)
    assert mask.dtype == bool and mask.shape == (40, 50)
    assert mask.sum() == 100 and mask[10:20, 20:30].all()
    crop_mask = polygon_mask(polygon, 15, 15, origin=(18, 8))
    assert crop_mask.sum() == 100 and crop_mask[2:12, 2:12].all()
    assert not polygon_mask(polygon[:2], 40, 50).any()
