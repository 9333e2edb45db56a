"""Face detection on real photos: the right box, crops grown by the margin, size limits, regions in place."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PIL import Image

from forensic_core import BuildContext, ComponentError
from forensic_faces import REGION_NAMES
from forensic_faces.geometry import box_iou, expand_box
from forensic_faces.haar import build_haar
from forensic_faces.lbp import build_lbp
from forensic_faces.settings import HaarSettings, LbpSettings

from .conftest import ASTRONAUT_FACE, GRACE_HOPPER_FACE

BUILDERS = {"haar": (build_haar, HaarSettings), "lbp": (build_lbp, LbpSettings)}


def build(kind: str, **settings: Any) -> Any:
    builder, model = BUILDERS[kind]
    return builder(model(landmarks="none", **settings), BuildContext())


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def detector(kind: str) -> Any:
    return build(kind)


def centroid(polygon: np.ndarray) -> np.ndarray:
    return np.asarray(polygon).mean(axis=0)


@pytest.mark.parametrize(("photo", "truth"), [("astronaut", ASTRONAUT_FACE), ("grace_hopper", GRACE_HOPPER_FACE)])
def test_finds_the_one_face_over_the_hand_checked_box(detector: Any, photo: str, truth: Any, request: Any) -> None:
    image = request.getfixturevalue(photo)
    faces = detector.detect_faces(image)
    assert len(faces) == 1
    assert box_iou(faces[0].box, truth) > 0.6
    assert 0.0 < faces[0].score <= 1.0


@pytest.mark.parametrize("photo", ["astronaut", "grace_hopper"])
def test_regions_sit_where_the_features_are(detector: Any, photo: str, request: Any) -> None:
    face = detector.detect_faces(request.getfixturevalue(photo))[0]
    box = face.box
    middle_y = (box.y0 + box.y1) / 2
    assert set(face.regions) == set(REGION_NAMES)
    assert face.region_source == "box-geometry" and face.landmarks is None
    for eye in ("left_eye", "right_eye", "left_brow", "right_brow", "forehead"):
        assert centroid(face.regions[eye])[1] < middle_y, eye
    assert centroid(face.regions["mouth"])[1] > middle_y
    # The subject's right eye appears on the left of a frontal photo.
    assert centroid(face.regions["right_eye"])[0] < centroid(face.regions["left_eye"])[0]
    assert centroid(face.regions["right_cheek"])[0] < centroid(face.regions["nose"])[0]
    assert centroid(face.regions["left_cheek"])[0] > centroid(face.regions["nose"])[0]


@pytest.mark.parametrize("margin", [0.0, 0.25, 0.6])
def test_regions_lie_inside_the_crop_box(kind: str, astronaut: np.ndarray, margin: float) -> None:
    (face,) = build(kind, margin=margin).detect_faces(astronaut)
    crop = face.crop_box
    for name, polygon in face.regions.items():
        assert polygon.shape[1] == 2 and len(polygon) >= 3, name
        assert polygon[:, 0].min() >= crop.x0 and polygon[:, 0].max() <= crop.x1, name
        assert polygon[:, 1].min() >= crop.y0 and polygon[:, 1].max() <= crop.y1, name


def test_no_face_in_a_face_free_photo_or_a_flat_image(detector: Any, coffee: np.ndarray) -> None:
    assert detector.detect_faces(coffee) == []
    assert detector.detect_faces(np.full((300, 400, 3), 128, dtype=np.uint8)) == []


@pytest.mark.parametrize("margin", [0.0, 0.3])
def test_crop_box_is_the_box_grown_by_the_margin(kind: str, astronaut: np.ndarray, margin: float) -> None:
    (face,) = build(kind, margin=margin).detect_faces(astronaut)
    box, crop = face.box, face.crop_box
    assert (crop.x0, crop.x1) == (box.x0 - round(margin * box.width), box.x1 + round(margin * box.width))
    assert (crop.y0, crop.y1) == (box.y0 - round(margin * box.height), box.y1 + round(margin * box.height))


def test_crop_box_is_clipped_to_the_image(kind: str, astronaut: np.ndarray) -> None:
    # Cut the photo just left of the face, so a margin would reach past the image's left edge.
    image = np.ascontiguousarray(astronaut[:, 165:])
    (face,) = build(kind, margin=0.5).detect_faces(image)
    assert face.box.x0 - 0.5 * face.box.width < 0
    assert face.crop_box.x0 == 0
    assert face.crop_box == expand_box(face.box, 0.5, image.shape[1], image.shape[0])


def test_min_size_drops_smaller_faces(kind: str, astronaut: np.ndarray) -> None:
    assert len(build(kind, min_size=80).detect_faces(astronaut)) == 1  # the face is about 93 px wide
    assert build(kind, min_size=120).detect_faces(astronaut) == []


def three_faces(astronaut: np.ndarray) -> np.ndarray:
    """A grey canvas with the astronaut's face pasted at three sizes (largest on the right)."""
    face = Image.fromarray(astronaut).crop((150, 40, 300, 190))
    canvas = Image.new("RGB", (900, 360), (120, 120, 120))
    for x, side in ((20, 150), (230, 220), (520, 330)):
        canvas.paste(face.resize((side, side)), (x, 10))
    return np.asarray(canvas)


def test_max_faces_keeps_the_largest_faces_first(kind: str, astronaut: np.ndarray) -> None:
    image = three_faces(astronaut)
    everything = build(kind).detect_faces(image)
    assert len(everything) == 3
    widths = [face.box.width for face in everything]
    assert widths == sorted(widths, reverse=True)
    kept = build(kind, max_faces=2).detect_faces(image)
    assert [face.box for face in kept] == [face.box for face in everything[:2]]


class ShapeSpy:
    """Wraps a cascade to record the size of the image it is asked to search."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.shapes: list[tuple[int, ...]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            image = kwargs.get("img", args[0] if args else None)
            self.shapes.append(np.asarray(image).shape[:2])
            return method(*args, **kwargs)

        return call


def spied(kind: str, **settings: Any) -> tuple[Any, ShapeSpy]:
    detector = build(kind, **settings)
    attribute = "_faces" if kind == "haar" else "_cascade"
    spy = ShapeSpy(getattr(detector, attribute))
    setattr(detector, attribute, spy)
    return detector, spy


def test_large_photos_are_searched_downscaled_and_boxes_mapped_back(kind: str, astronaut: np.ndarray) -> None:
    # Each pixel repeated 4 x 4: downscaled back to 512 px the photo is exactly the original, so the boxes found on
    # the copy must come back as exactly 4 times the boxes on the original.
    big = np.repeat(np.repeat(astronaut, 4, axis=0), 4, axis=1)
    detector, spy = spied(kind, detection_max_side=512, min_size=24)
    faces = detector.detect_faces(big)
    assert spy.shapes == [(512, 512)]
    originals = build(kind, min_size=24).detect_faces(astronaut)
    assert faces
    assert [face.box.as_list() for face in faces] == [[4 * v for v in face.box.as_list()] for face in originals]


def test_no_downscale_limit_searches_the_full_image(kind: str, astronaut: np.ndarray) -> None:
    detector, spy = spied(kind, detection_max_side=None)
    detector.detect_faces(astronaut)
    assert spy.shapes == [(512, 512)]
    detector, spy = spied(kind, detection_max_side=256)
    detector.detect_faces(astronaut)
    assert spy.shapes == [(256, 256)]


def test_rejects_images_that_are_not_rgb_uint8(detector: Any) -> None:
    with pytest.raises(ComponentError, match="H x W x 3 uint8"):
        detector.detect_faces(np.zeros((64, 64), dtype=np.uint8))
    with pytest.raises(ComponentError, match="H x W x 3 uint8"):
        detector.detect_faces(np.zeros((64, 64, 3), dtype=np.float32))


def test_reports_the_cascade_files_it_runs(detector: Any, kind: str) -> None:
    identity = detector.weights_identity()
    assert ("haarcascade_frontalface_default.xml" if kind == "haar" else ".xml") in identity
    assert "sha256:" in identity
