"""forensic-faces: face detection and cropping with named facial regions, as a forensic-core plugin.

Importing this package is light: the registration module (:mod:`forensic_faces.plugin`) imports only the core
and pydantic; OpenCV, scikit-image and dlib are imported by the detectors' factories on first use. The region
helpers in :mod:`forensic_faces.regions` and :mod:`forensic_faces.geometry` need only numpy and Pillow.
"""

from __future__ import annotations

__version__ = "0.1.0"

REGION_NAMES = (
    "left_eye",
    "right_eye",
    "left_brow",
    "right_brow",
    "nose",
    "mouth",
    "jaw",
    "left_cheek",
    "right_cheek",
    "forehead",
)
"""Names of the facial regions every face carries (``left``/``right`` are the subject's own sides)."""

__all__ = ["REGION_NAMES", "__version__"]
