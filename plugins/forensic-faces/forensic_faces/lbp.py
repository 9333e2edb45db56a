"""The ``lbp`` face detector: scikit-image's multi-block LBP frontal-face cascade (the ``lbp`` extra).

Factory module: scikit-image is imported when the detector is built, with an install hint when it is missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from forensic_core import Box, BuildContext, PluginLoadError
from forensic_faces.detection import Candidate, CascadeFaceDetector, downscale_rgb
from forensic_faces.geometry import scale_box
from forensic_faces.landmarks import DlibLandmarker, build_landmarker
from forensic_faces.settings import LbpSettings


class LbpFaceDetector(CascadeFaceDetector):
    """Frontal faces from ``skimage.feature.Cascade`` with ``skimage.data.lbp_frontal_face_cascade_filename()``.

    The cascade reports no confidence, so every face has score 1.0.
    """

    settings: LbpSettings

    def __init__(self, settings: LbpSettings, landmarker: DlibLandmarker | None = None) -> None:
        super().__init__(settings, landmarker)
        try:
            from skimage import data
            from skimage.feature import Cascade
        except ImportError as error:
            raise PluginLoadError(
                f"the 'lbp' face detector needs scikit-image ({error}): pip install 'forensic-faces[lbp]'"
            ) from error
        self._file = Path(data.lbp_frontal_face_cascade_filename())
        self._cascade: Any = Cascade(str(self._file))
        self._window = int(self._cascade.window_width)

    def weight_files(self) -> list[Path]:
        return [self._file]

    def find(self, image: np.ndarray, scale: float) -> list[Candidate]:
        height, width = image.shape[:2]
        small = downscale_rgb(image, scale)
        window = self.min_window(scale, self._window)
        if min(small.shape[:2]) < window:
            return []
        found = self._cascade.detect_multi_scale(
            img=small,
            scale_factor=self.settings.scale_factor,
            step_ratio=self.settings.step_ratio,
            min_size=(window, window),
            max_size=small.shape[:2],
            min_neighbor_number=self.settings.min_neighbors,
        )
        candidates = []
        for d in found:
            x, y = int(d["c"]), int(d["r"])
            small_box = Box(x, y, x + int(d["width"]), y + int(d["height"]))
            candidates.append(Candidate(box=scale_box(small_box, scale, width, height)))
        return candidates


def build_lbp(settings: LbpSettings, context: BuildContext) -> LbpFaceDetector:
    """Factory named by the ``lbp`` component spec."""
    return LbpFaceDetector(settings, build_landmarker(settings, context))
