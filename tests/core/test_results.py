"""Component outputs validate themselves at the boundary."""

from __future__ import annotations

import numpy as np
import pytest

from forensic_core import Box, ComponentSpec, Detection, Explanation, Localization, MediaItem, Message


@pytest.mark.parametrize("score", [-0.1, 1.01, float("nan"), float("inf")])
def test_detection_score_must_be_a_probability(score):
    with pytest.raises(ValueError, match=r"Detection\.score"):
        Detection(score=score, label="fake")


def test_detection_from_score_sets_label_by_threshold():
    assert Detection.from_score(0.7, 0.7).label == "fake"
    assert Detection.from_score(0.69, 0.7).label == "real"
    with pytest.raises(ValueError, match="label"):
        Detection(score=0.5, label="maybe")


@pytest.mark.parametrize(
    ("heatmap", "message"),
    [
        (np.zeros((2, 2, 2)), "must be 2-D"),
        (np.zeros((2, 2), dtype=np.uint8), "must be a float array"),
        (np.full((2, 2), np.nan), "NaN"),
        (np.full((2, 2), 1.5), r"must lie in \[0, 1\]"),
    ],
)
def test_heatmap_validation(heatmap, message):
    with pytest.raises(ValueError, match=message):
        Localization(heatmap=heatmap)


def test_mask_must_match_heatmap_and_maps_must_be_unit():
    with pytest.raises(ValueError, match="mask shape"):
        Localization(heatmap=np.zeros((2, 2)), mask=np.zeros((3, 3), bool))
    with pytest.raises(ValueError, match=r"Explanation\.maps"):
        Explanation(maps={"m": np.full((2, 2), -1.0)})


def test_media_item_requires_rgb_uint8():
    with pytest.raises(ValueError, match="uint8 RGB"):
        MediaItem(image=np.zeros((4, 4)), source="x")
    with pytest.raises(ValueError, match="uint8 RGB"):
        MediaItem(image=np.zeros((4, 4, 3), np.float32), source="x")


def test_box_and_message_and_spec_validation():
    with pytest.raises(ValueError, match="empty box"):
        Box(5, 5, 5, 9)
    assert Box(-3, -3, 50, 50).clip(20, 10) == Box(0, 0, 20, 10)
    with pytest.raises(ValueError, match="role"):
        Message("robot", "hi")
    with pytest.raises(ValueError, match="must match"):
        ComponentSpec("Bad Name", "x", factory="m:f")
    with pytest.raises(ValueError, match="factory"):
        ComponentSpec("ok", "x", factory="not-an-import-string")
    with pytest.raises(ValueError, match="scope"):
        ComponentSpec("ok", "x", factory="m:f", scope="everywhere")
