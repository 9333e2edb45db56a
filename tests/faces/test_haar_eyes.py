"""The Haar detector's optional eye cascade: a sanity check on faces, and the head's roll for box geometry."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from forensic_core import BuildContext
from forensic_faces.geometry import box_iou
from forensic_faces.haar import build_haar, roll_from_eyes
from forensic_faces.settings import HaarSettings


def haar(**settings: object) -> object:
    return build_haar(HaarSettings(landmarks="none", **settings), BuildContext())


def eye_line_degrees(face: object) -> float:
    right = face.regions["right_eye"].mean(axis=0)  # type: ignore[attr-defined]
    left = face.regions["left_eye"].mean(axis=0)  # type: ignore[attr-defined]
    return math.degrees(math.atan2(left[1] - right[1], left[0] - right[0]))


def test_roll_is_the_eye_line_angle_when_plausible() -> None:
    assert roll_from_eyes([(0.0, 0.0), (10.0, 10.0)]) == 0.0  # 45 degrees: not a plausible frontal face
    assert roll_from_eyes([(0.0, 0.0), (10.0, 2.0)]) == pytest.approx(math.degrees(math.atan2(2, 10)))
    assert roll_from_eyes([(0.0, 0.0)]) == 0.0


@pytest.mark.parametrize("photo", ["astronaut", "grace_hopper"])
def test_eye_check_keeps_real_faces_with_and_without_glasses(photo: str, request: pytest.FixtureRequest) -> None:
    assert len(haar(require_eyes=True).detect_faces(request.getfixturevalue(photo))) == 1


def test_eye_check_drops_a_false_face(astronaut: np.ndarray) -> None:
    # Upscaled 4x the photo is blurry, and the cascade takes part of the space shuttle for a face.
    big = np.asarray(Image.fromarray(astronaut).resize((2048, 2048), Image.Resampling.BICUBIC))
    unchecked = haar().detect_faces(big)
    checked = haar(require_eyes=True).detect_faces(big)
    assert len(checked) < len(unchecked)
    (face,) = checked
    real = max(unchecked, key=lambda f: box_iou(f.box, face.box))
    assert real.box == face.box


def test_box_geometry_regions_follow_the_head_roll(astronaut: np.ndarray) -> None:
    # Turn the photo 15 degrees clockwise about the face: the head, tilted ~3 degrees already, rolls to ~18.
    tilted = np.asarray(Image.fromarray(astronaut).rotate(-15, center=(223, 113), resample=Image.Resampling.BICUBIC))
    (aligned,) = haar(align_to_eyes=True).detect_faces(tilted)
    (upright,) = haar().detect_faces(tilted)
    assert 13.0 < eye_line_degrees(aligned) < 23.0
    assert eye_line_degrees(upright) == pytest.approx(0.0, abs=1e-6)
