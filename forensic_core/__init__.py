"""forensic-core: a plugin host for explainable deepfake forensics.

Plugin authors import everything they need from here: the ``hookimpl`` marker, the spec and settings base
classes, and the typed results. Importing this package is light (no torch).
"""

from __future__ import annotations

from forensic_core.components import ComponentKind, ComponentSettings, ComponentSpec, NoSettings
from forensic_core.context import BuildContext
from forensic_core.errors import (
    ComponentError,
    ConfigError,
    ForensicError,
    InputError,
    MissingWeightsError,
    PluginLoadError,
)
from forensic_core.hookspecs import hookimpl
from forensic_core.protocols import (
    Detector,
    DialogBackend,
    ExplainableDetector,
    Explainer,
    FaceDetector,
    Localizer,
    VisionTarget,
)
from forensic_core.results import (
    Box,
    Detection,
    Explanation,
    Face,
    Figure,
    Findings,
    Localization,
    MediaItem,
    Message,
    RegionScore,
)

__version__ = "0.1.0"

__all__ = [
    "Box",
    "BuildContext",
    "ComponentError",
    "ComponentKind",
    "ComponentSettings",
    "ComponentSpec",
    "ConfigError",
    "Detection",
    "Detector",
    "DialogBackend",
    "ExplainableDetector",
    "Explainer",
    "Explanation",
    "Face",
    "FaceDetector",
    "Figure",
    "Findings",
    "ForensicError",
    "InputError",
    "Localization",
    "Localizer",
    "MediaItem",
    "Message",
    "MissingWeightsError",
    "NoSettings",
    "PluginLoadError",
    "RegionScore",
    "VisionTarget",
    "__version__",
    "hookimpl",
]
