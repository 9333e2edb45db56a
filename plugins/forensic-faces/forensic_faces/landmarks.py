"""Optional 68-point landmarks from dlib's shape predictor (the ``landmarks`` extra).

The model file ships in the ``face-recognition-models`` package (CC0). That package's ``__init__`` imports
``pkg_resources``, which recent setuptools no longer provides, so the file is located through the package's
import spec without importing it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from forensic_core import Box, BuildContext, MissingWeightsError, PluginLoadError
from forensic_faces.geometry import expand_box

if TYPE_CHECKING:
    from forensic_faces.settings import FaceDetectorSettings

MODEL_FILE = "shape_predictor_68_face_landmarks.dat"
INSTALL_HINT = "pip install 'forensic-faces[landmarks]' (dlib-bin and face-recognition-models)"

# The predictor refines a shape from the box outwards; it needs to see a little beyond the box whatever the
# user's crop margin is.
PREDICTOR_CONTEXT = 0.3


def packaged_model_path() -> Path | None:
    """The 68-point model installed by face-recognition-models, or None when that package is absent."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "models" / MODEL_FILE
        if candidate.is_file():
            return candidate
    return None


def dlib_available() -> bool:
    return importlib.util.find_spec("dlib") is not None


class DlibLandmarker:
    """68 facial points for a face box, predicted on a small crop so the cost does not grow with the photo."""

    def __init__(self, model_path: Path) -> None:
        import dlib

        self.model_path = model_path
        self._dlib = dlib
        self._predictor: Any = dlib.shape_predictor(str(model_path))

    def __call__(self, image: np.ndarray, box: Box) -> np.ndarray:
        height, width = image.shape[:2]
        window = expand_box(box, PREDICTOR_CONTEXT, width, height)
        patch = np.ascontiguousarray(image[window.y0 : window.y1, window.x0 : window.x1])
        rect = self._dlib.rectangle(box.x0 - window.x0, box.y0 - window.y0, box.x1 - window.x0, box.y1 - window.y0)
        shape = self._predictor(patch, rect)
        points = np.array([(part.x, part.y) for part in shape.parts()], dtype=float)
        return points + np.array([window.x0, window.y0], dtype=float)


def build_landmarker(settings: FaceDetectorSettings, context: BuildContext) -> DlibLandmarker | None:
    """The landmark model the settings ask for, shared across the pipeline; None means box geometry.

    ``auto`` quietly falls back to box geometry when dlib or the packaged model is missing; ``dlib`` and an
    explicit ``landmark_model`` path fail loudly instead, because the user asked for them.
    """
    if settings.landmarks == "none":
        return None
    explicit = settings.landmark_model is not None
    required = settings.landmarks == "dlib" or explicit
    if not dlib_available():
        if required:
            raise PluginLoadError(f"68-point landmarks need dlib, which is not installed: {INSTALL_HINT}")
        return None
    model_path = (
        Path(settings.landmark_model).expanduser() if settings.landmark_model is not None else packaged_model_path()
    )
    if model_path is None or not model_path.is_file():
        if required:
            where = str(model_path) if model_path is not None else "the face-recognition-models package"
            raise MissingWeightsError(
                f"dlib landmark model {MODEL_FILE} not found in {where}: {INSTALL_HINT}, or set landmark_model "
                "to the file's path"
            )
        return None
    resolved = model_path.resolve()
    return context.shared(("forensic-faces", "dlib-68", str(resolved)), lambda: DlibLandmarker(resolved))
