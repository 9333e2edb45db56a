"""The steps every cascade face detector shares, around the cascade itself.

A subclass only finds candidate boxes (:meth:`CascadeFaceDetector.find`) on a downscaled copy; this module maps
them back, drops small and duplicate boxes, keeps the largest faces, grows the crop, and names the regions.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from forensic_core import Box, ComponentError, Face
from forensic_faces.geometry import clip_polygon, expand_box, overlap_of_smaller, polygon_area
from forensic_faces.landmarks import DlibLandmarker
from forensic_faces.regions import regions_from_points
from forensic_faces.settings import FaceDetectorSettings
from forensic_faces.template import points_in_box

# Two boxes sharing more than this fraction of the smaller one are one face found twice (cascades sometimes
# report a face and a box inside it): faces do not nest.
DUPLICATE_OVERLAP = 0.5


@dataclass(frozen=True)
class Candidate:
    """A face box in full-image pixels, before crops and regions are added."""

    box: Box
    score: float = 1.0
    roll_degrees: float = 0.0


def check_image(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        shape = getattr(image, "shape", None)
        dtype = getattr(image, "dtype", type(image).__name__)
        raise ComponentError(f"face detection needs an H x W x 3 uint8 RGB image, got shape {shape} of {dtype}")
    return image


def detection_scale(height: int, width: int, max_side: int | None) -> float:
    """Factor (<= 1) that brings the longer side down to ``max_side``; detection cost grows with pixel count."""
    if max_side is None:
        return 1.0
    return min(1.0, max_side / max(height, width))


def downscale_rgb(image: np.ndarray, scale: float) -> np.ndarray:
    """Area-averaged downscale (no aliasing, which would create false cascade responses)."""
    if scale >= 1.0:
        return image
    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BOX))


def select_faces(candidates: list[Candidate], min_size: int, max_faces: int) -> list[Candidate]:
    """Drop faces under ``min_size`` and duplicates (best score wins); keep the ``max_faces`` largest."""
    large_enough = [c for c in candidates if min(c.box.width, c.box.height) >= min_size]
    by_confidence = sorted(large_enough, key=lambda c: (-c.score, -c.box.width * c.box.height, c.box.as_list()))
    kept: list[Candidate] = []
    for candidate in by_confidence:
        if all(overlap_of_smaller(candidate.box, k.box) <= DUPLICATE_OVERLAP for k in kept):
            kept.append(candidate)
    kept.sort(key=lambda c: (-c.box.width * c.box.height, c.box.x0, c.box.y0))
    return kept[:max_faces]


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


class CascadeFaceDetector:
    """A :class:`forensic_core.FaceDetector` built on a sliding-window cascade; subclasses implement ``find``."""

    def __init__(self, settings: FaceDetectorSettings, landmarker: DlibLandmarker | None) -> None:
        self.settings = settings
        self.landmarker = landmarker
        self._identity: str | None = None

    # -- to implement -------------------------------------------------------------------------------------
    def find(self, image: np.ndarray, scale: float) -> list[Candidate]:
        """Candidate faces of ``image`` (full-image pixels), detecting on a copy resized by ``scale``."""
        raise NotImplementedError

    def weight_files(self) -> list[Path]:
        """Files whose content decides the detector's output (for provenance)."""
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------------------------
    def min_window(self, scale: float, window: int = 24) -> int:
        """Smallest window worth searching on the downscaled copy: ``min_size`` mapped down, at least the cascade's."""
        return max(window, int(self.settings.min_size * scale))

    def detect_faces(self, image: np.ndarray) -> list[Face]:
        image = check_image(image)
        height, width = image.shape[:2]
        scale = detection_scale(height, width, self.settings.detection_max_side)
        kept = select_faces(self.find(image, scale), self.settings.min_size, self.settings.max_faces)
        return [self._face(image, candidate) for candidate in kept]

    def _face(self, image: np.ndarray, candidate: Candidate) -> Face:
        height, width = image.shape[:2]
        crop_box = expand_box(candidate.box, self.settings.margin, width, height)
        landmarks = self.landmarker(image, candidate.box) if self.landmarker is not None else None
        points = landmarks if landmarks is not None else points_in_box(candidate.box, candidate.roll_degrees)
        regions = {}
        # Regions are kept to the crop: face-scope components only see the crop, so evidence outside it cannot
        # be attributed to a region; a region wholly outside (a face cut by the frame) is left out.
        for name, polygon in regions_from_points(points).items():
            clipped = clip_polygon(polygon, crop_box)
            if len(clipped) >= 3 and polygon_area(clipped) > 0:
                regions[name] = clipped
        return Face(
            box=candidate.box,
            crop_box=crop_box,
            score=float(candidate.score),
            landmarks=landmarks,
            regions=regions,
            region_source="landmarks-68" if landmarks is not None else "box-geometry",
        )

    def weights_identity(self) -> str | None:
        """Names and content hashes of the cascade (and landmark model) files, computed once."""
        if self._identity is None:
            files = self.weight_files()
            if self.landmarker is not None:
                files.append(self.landmarker.model_path)
            self._identity = ", ".join(f"{path.name} sha256:{file_digest(path)}" for path in files)
        return self._identity
