"""Named regions from 68 points: all names, subject-relative sides, and the box-geometry template."""

from __future__ import annotations

import math

import numpy as np
import pytest

from forensic_core import Box
from forensic_faces import REGION_NAMES
from forensic_faces.geometry import polygon_area, polygon_mask
from forensic_faces.regions import regions_from_points
from forensic_faces.template import CANONICAL_POINTS, MIRROR, points_in_box

BOX = Box(100, 100, 300, 300)


def centroid(polygon: np.ndarray) -> np.ndarray:
    return np.asarray(polygon).mean(axis=0)


def test_template_is_left_right_symmetric() -> None:
    assert sorted(MIRROR) == list(range(68))
    assert (MIRROR[MIRROR] == np.arange(68)).all()
    mirrored = CANONICAL_POINTS[MIRROR] * [-1, 1] + [1, 0]
    np.testing.assert_allclose(mirrored, CANONICAL_POINTS, atol=1e-9)


def test_every_region_is_a_polygon_with_area() -> None:
    regions = regions_from_points(points_in_box(BOX))
    assert set(regions) == set(REGION_NAMES)
    for name, polygon in regions.items():
        assert polygon.ndim == 2 and polygon.shape[1] == 2 and polygon.dtype == np.float64, name
        assert polygon_area(polygon) > 0, name


def test_left_and_right_are_the_subjects_own_sides() -> None:
    regions = regions_from_points(points_in_box(BOX))
    for part in ("eye", "brow", "cheek"):
        assert centroid(regions[f"right_{part}"])[0] < 200 < centroid(regions[f"left_{part}"])[0], part


def test_mirrored_face_swaps_left_and_right_regions() -> None:
    points = points_in_box(BOX) + np.random.default_rng(0).normal(0, 2, size=(68, 2))
    mirrored = (points * [-1, 1] + [400, 0])[MIRROR]
    regions, mirrored_regions = regions_from_points(points), regions_from_points(mirrored)
    for name in REGION_NAMES:
        partner = name.replace("left", "@").replace("right", "left").replace("@", "right")
        expected = centroid(regions[partner]) * [-1, 1] + [400, 0]
        np.testing.assert_allclose(centroid(mirrored_regions[name]), expected, atol=1e-6, err_msg=name)


def test_regions_of_neighbouring_features_barely_overlap() -> None:
    masks = {name: polygon_mask(p, 400, 400) for name, p in regions_from_points(points_in_box(BOX)).items()}
    for a, b in [("jaw", "left_cheek"), ("jaw", "right_cheek"), ("nose", "mouth"), ("left_eye", "right_eye")]:
        shared = (masks[a] & masks[b]).sum() / min(masks[a].sum(), masks[b].sum())
        assert shared < 0.05, (a, b, shared)


def test_regions_turn_with_the_head() -> None:
    regions = regions_from_points(points_in_box(BOX, roll_degrees=20.0))
    right, left = centroid(regions["right_eye"]), centroid(regions["left_eye"])
    assert math.degrees(math.atan2(left[1] - right[1], left[0] - right[0])) == pytest.approx(20.0, abs=0.5)
    # The forehead stays "above" the brows in the face's own frame, which now points down-left.
    down = np.array([-math.sin(math.radians(20)), math.cos(math.radians(20))])
    brows = (centroid(regions["left_brow"]) + centroid(regions["right_brow"])) / 2
    assert np.dot(centroid(regions["forehead"]) - brows, down) < 0
    assert np.dot(centroid(regions["mouth"]) - brows, down) > 0


def test_box_geometry_places_eyes_in_the_upper_half_and_mouth_in_the_lower() -> None:
    regions = regions_from_points(points_in_box(BOX))
    assert centroid(regions["left_eye"])[1] < 200 and centroid(regions["right_eye"])[1] < 200
    assert centroid(regions["mouth"])[1] > 200


def test_rejects_anything_but_68_points() -> None:
    with pytest.raises(ValueError, match="68 x 2"):
        regions_from_points(np.zeros((5, 2)))
