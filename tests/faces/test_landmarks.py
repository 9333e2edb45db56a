"""The 68-point landmark path (dlib-bin + face-recognition-models), on the real face photos."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from forensic_core import BuildContext

pytest.importorskip("dlib")

from forensic_faces.geometry import expand_box
from forensic_faces.haar import build_haar
from forensic_faces.landmarks import packaged_model_path
from forensic_faces.settings import HaarSettings

if packaged_model_path() is None:
    pytest.skip("face-recognition-models (the 68-point model) is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def context() -> BuildContext:
    return BuildContext()


@pytest.fixture(scope="module")
def detector(context: BuildContext) -> Any:
    return build_haar(HaarSettings(landmarks="dlib"), context)


@pytest.fixture(scope="module")
def geometry_detector() -> Any:
    return build_haar(HaarSettings(landmarks="none"), BuildContext())


@pytest.mark.parametrize("photo", ["astronaut", "grace_hopper"])
def test_faces_carry_68_landmarks_and_landmark_regions(detector: Any, photo: str, request: Any) -> None:
    image = request.getfixturevalue(photo)
    (face,) = detector.detect_faces(image)
    assert face.region_source == "landmarks-68"
    assert face.landmarks.shape == (68, 2) and face.landmarks.dtype == np.float64
    near = expand_box(face.box, 0.3, image.shape[1], image.shape[0])
    assert (face.landmarks[:, 0] >= near.x0).all() and (face.landmarks[:, 0] <= near.x1).all()
    assert (face.landmarks[:, 1] >= near.y0).all() and (face.landmarks[:, 1] <= near.y1).all()


def test_landmarks_find_the_astronauts_eyes(detector: Any, astronaut: np.ndarray) -> None:
    (face,) = detector.detect_faces(astronaut)
    # Eye centres read off the photo: the subject's right eye is on the left of the picture.
    np.testing.assert_allclose(face.landmarks[36:42].mean(axis=0), (203, 101), atol=6)
    np.testing.assert_allclose(face.landmarks[42:48].mean(axis=0), (247, 103), atol=6)
    right, left = face.regions["right_eye"].mean(axis=0), face.regions["left_eye"].mean(axis=0)
    assert right[0] < left[0]


@pytest.mark.parametrize("photo", ["astronaut", "grace_hopper"])
def test_box_geometry_agrees_with_landmarks(detector: Any, geometry_detector: Any, photo: str, request: Any) -> None:
    image = request.getfixturevalue(photo)
    (measured,) = detector.detect_faces(image)
    (estimated,) = geometry_detector.detect_faces(image)
    assert estimated.region_source == "box-geometry"
    for name in ("left_eye", "right_eye", "nose", "mouth"):
        distance = np.linalg.norm(measured.regions[name].mean(axis=0) - estimated.regions[name].mean(axis=0))
        assert distance < 0.12 * measured.box.width, name


def test_the_landmark_model_is_loaded_once_per_pipeline(detector: Any, context: BuildContext) -> None:
    other = build_haar(HaarSettings(landmarks="dlib", margin=0.5), context)
    assert other.landmarker is detector.landmarker


def test_provenance_names_the_landmark_model(detector: Any) -> None:
    assert "shape_predictor_68_face_landmarks.dat sha256:" in detector.weights_identity()
