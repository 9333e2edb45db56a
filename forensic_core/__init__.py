"""forensic-core: a plugin host for explainable deepfake forensics.

Plugin authors import everything they need from here: the ``hookimpl`` marker, the spec and settings base
classes, the typed component results, and the types the hooks hand over (``Pipeline``, ``InputResult``,
``Report``, ``InputContext``), which live in leaf modules below the registry. Importing this package is light
(no torch).
"""

from __future__ import annotations

# First: pydantic's plugins, loaded so that a malformed entry_points.txt anywhere cannot break import.
import forensic_core.pydantic_guard  # noqa: F401

# isort: split

from forensic_core.api import API_VERSION
from forensic_core.components import ComponentKind, ComponentSettings, ComponentSpec, NoSettings
from forensic_core.context import BuildContext
from forensic_core.engine.base import Engine, InputContext, InputRef, RunPlan, current_input
from forensic_core.errors import (
    ComponentError,
    ConfigError,
    ForensicError,
    InputError,
    MissingWeightsError,
    PluginLoadError,
)
from forensic_core.hookspecs import hookimpl
from forensic_core.paths import PathOrNameSetting, PathSetting
from forensic_core.pipeline import ComponentEntry, Pipeline
from forensic_core.protocols import (
    Detector,
    DialogBackend,
    ExplainableDetector,
    Explainer,
    FaceDetector,
    Localizer,
    VisionTarget,
)
from forensic_core.report import Custody, InputResult, Report
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
    "API_VERSION",
    "Box",
    "BuildContext",
    "ComponentEntry",
    "ComponentError",
    "ComponentKind",
    "ComponentSettings",
    "ComponentSpec",
    "ConfigError",
    "Custody",
    "Detection",
    "Detector",
    "DialogBackend",
    "Engine",
    "ExplainableDetector",
    "Explainer",
    "Explanation",
    "Face",
    "FaceDetector",
    "Figure",
    "Findings",
    "ForensicError",
    "InputContext",
    "InputError",
    "InputRef",
    "InputResult",
    "Localization",
    "Localizer",
    "MediaItem",
    "Message",
    "MissingWeightsError",
    "NoSettings",
    "PathOrNameSetting",
    "PathSetting",
    "Pipeline",
    "PluginLoadError",
    "RegionScore",
    "Report",
    "RunPlan",
    "VisionTarget",
    "__version__",
    "current_input",
    "hookimpl",
]
