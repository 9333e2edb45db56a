"""Component outputs validate themselves at the boundary."""

from __future__ import annotations

import numpy as np
import pytest

from forensic_core import Box, ComponentSpec, Detection, Explanation, Face, Localization, MediaItem, Message


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


def _face() -> Face:
    regions = {"mouth": np.array([[1.0, 1.0], [5.0, 1.0], [5.0, 5.0]])}
    return Face(box=Box(0, 0, 8, 8), crop_box=Box(0, 0, 8, 8), landmarks=np.zeros((68, 2)), regions=regions)


def test_types_holding_arrays_compare_by_identity():
    first, second = _face(), _face()
    faces = [first, second]
    assert faces.index(second) == 1 and first != second and first == first
    assert len({first, second}) == 2
    image = np.zeros((4, 4, 3), np.uint8)
    items = [MediaItem(image, "a.png"), MediaItem(image, "a.png")]
    assert items.index(items[1]) == 1
    maps = [Localization(heatmap=np.zeros((2, 2))), Localization(heatmap=np.zeros((2, 2)))]
    assert maps.index(maps[1]) == 1
    explanations = [Explanation(maps={"m": np.zeros((2, 2))}), Explanation(maps={"m": np.zeros((2, 2))})]
    assert explanations.index(explanations[1]) == 1


def test_two_faces_with_equal_boxes_are_analysed(forensic_cli, fake_registry, register_plugin, tmp_path):
    import json

    from PIL import Image

    from forensic_core import hookimpl

    class TwinFaces:
        def detect_faces(self, image):
            height, width = image.shape[:2]
            box = Box(0, 0, width, height)
            regions = {"mouth": np.array([[0.0, height / 2], [width, height / 2], [width, height]])}
            return [Face(box=box, crop_box=box, regions=regions) for _ in range(2)]

    class Twins:
        @hookimpl
        def forensic_register_face_detectors(self):
            return [ComponentSpec("twin-faces", "the same face twice", factory=lambda s, ctx: TwinFaces())]

    register_plugin(Twins(), "twins")
    image = tmp_path / "twins.png"
    Image.fromarray(np.full((16, 16, 3), 100, np.uint8)).save(image)
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("face_detector: twin-faces\ndetectors: [face-brightness]\nlocalizers: [face-bright-map]\n")
    out = tmp_path / "out"
    result = forensic_cli("run", "-p", str(pipeline), str(image), "-o", str(out))
    assert result.exit_code == 0, result.output
    [record] = json.loads((out / "report.json").read_text())["results"]
    assert record["status"] == "ok" and len(record["faces"]) == 2
    assert sorted({region["face_index"] for region in record["regions"]}) == [0, 1]
