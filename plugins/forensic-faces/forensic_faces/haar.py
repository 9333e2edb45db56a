"""The ``haar`` face detector: OpenCV's frontal-face Haar cascades (shipped in opencv-python-headless 4.x).

Factory module: importing it imports OpenCV, so the registration module names it by import string only.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from forensic_core import Box, BuildContext, MissingWeightsError
from forensic_faces.detection import Candidate, CascadeFaceDetector
from forensic_faces.geometry import scale_box
from forensic_faces.landmarks import DlibLandmarker, build_landmarker
from forensic_faces.settings import HaarSettings

# The eyeglasses variant also finds eyes behind glasses frames, where the plain eye cascade fails.
EYE_CASCADE = "haarcascade_eye_tree_eyeglasses.xml"
# Eyes are searched on the face's upper part resized to this width: large enough for the eye cascade's 20 px
# window whatever the face size, small enough to stay cheap.
EYE_SEARCH_WIDTH = 160
MAX_PLAUSIBLE_ROLL = 30.0


def cascade_path(file_name: str) -> Path:
    """A cascade file shipped with OpenCV; opencv 5.x no longer ships them."""
    folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
    path = Path(folder) / file_name if folder else None
    if path is None or not path.is_file():
        raise MissingWeightsError(
            f"OpenCV {cv2.__version__} does not ship the Haar cascade {file_name} (5.x dropped them): "
            "pip install 'opencv-python-headless>=4.8,<5'"
        )
    return path


def load_cascade(path: Path) -> cv2.CascadeClassifier:
    cascade = cv2.CascadeClassifier(str(path))
    if cascade.empty():
        raise MissingWeightsError(f"OpenCV could not read the cascade {path}: reinstall opencv-python-headless<5")
    return cascade


def confidence(level_weight: float) -> float:
    """Map the last cascade stage's weight to (0, 1): monotone, not a calibrated probability."""
    return 1.0 / (1.0 + math.exp(-float(level_weight)))


class HaarFaceDetector(CascadeFaceDetector):
    """Frontal faces from an OpenCV Haar cascade, with an optional eye check and eye-based roll."""

    settings: HaarSettings

    def __init__(self, settings: HaarSettings, landmarker: DlibLandmarker | None = None) -> None:
        super().__init__(settings, landmarker)
        self._face_file = cascade_path(f"haarcascade_{settings.cascade}.xml")
        self._faces = load_cascade(self._face_file)
        use_eyes = settings.require_eyes or settings.align_to_eyes
        self._eye_file = cascade_path(EYE_CASCADE) if use_eyes else None
        self._eyes = load_cascade(self._eye_file) if self._eye_file is not None else None

    def weight_files(self) -> list[Path]:
        return [self._face_file] + ([self._eye_file] if self._eye_file is not None else [])

    def find(self, image: np.ndarray, scale: float) -> list[Candidate]:
        height, width = image.shape[:2]
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        small = gray
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        # Equalising makes the cascade's fixed thresholds work on dark and low-contrast photos.
        small = cv2.equalizeHist(small)
        window = self.min_window(scale)
        if min(small.shape) < window:
            return []
        boxes, _, weights = self._faces.detectMultiScale3(
            small,
            scaleFactor=self.settings.scale_factor,
            minNeighbors=self.settings.min_neighbors,
            minSize=(window, window),
            outputRejectLevels=True,
        )
        candidates = []
        for (x, y, w, h), weight in zip(np.reshape(boxes, (-1, 4)), np.ravel(weights), strict=True):
            box = scale_box(Box(int(x), int(y), int(x + w), int(y + h)), scale, width, height)
            roll = 0.0
            if self._eyes is not None:
                eyes = self.eye_centres(gray, box)
                if self.settings.require_eyes and not eyes:
                    continue
                if self.settings.align_to_eyes:
                    roll = roll_from_eyes(eyes)
            candidates.append(Candidate(box=box, score=confidence(weight), roll_degrees=roll))
        return candidates

    def eye_centres(self, gray: np.ndarray, box: Box) -> list[tuple[float, float]]:
        """Centres (full-image pixels) of the eyes found in the face's upper 60%: at most one per half."""
        assert self._eyes is not None
        top = gray[box.y0 : box.y0 + round(0.6 * box.height), box.x0 : box.x1]
        factor = EYE_SEARCH_WIDTH / top.shape[1]
        resized = cv2.resize(top, (EYE_SEARCH_WIDTH, max(1, round(top.shape[0] * factor))))
        # No histogram equalisation here: on a face crop it blows out eyes behind glasses.
        found = self._eyes.detectMultiScale(
            resized, scaleFactor=1.1, minNeighbors=3, maxSize=(EYE_SEARCH_WIDTH // 2,) * 2
        )
        best: dict[bool, tuple[int, tuple[float, float]]] = {}
        for x, y, w, h in np.reshape(found, (-1, 4)):
            centre_x, centre_y = (x + w / 2) / factor, (y + h / 2) / factor
            if centre_y > 0.55 * box.height:
                continue
            on_left = centre_x < box.width / 2
            if on_left not in best or w * h > best[on_left][0]:
                best[on_left] = (int(w * h), (box.x0 + centre_x, box.y0 + centre_y))
        return [best[side][1] for side in (True, False) if side in best]


def roll_from_eyes(eyes: list[tuple[float, float]]) -> float:
    """Head roll in degrees from the eye on the photo's left to the one on its right; 0 unless both are found."""
    if len(eyes) != 2:
        return 0.0
    (left_x, left_y), (right_x, right_y) = eyes
    roll = math.degrees(math.atan2(right_y - left_y, right_x - left_x))
    return roll if abs(roll) <= MAX_PLAUSIBLE_ROLL else 0.0


def build_haar(settings: HaarSettings, context: BuildContext) -> HaarFaceDetector:
    """Factory named by the ``haar`` component spec."""
    return HaarFaceDetector(settings, build_landmarker(settings, context))
