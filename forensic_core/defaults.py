"""The built-in default pipeline of ``forensic run`` (no ``-p``): offline, no downloaded weights.

It is composed from what is installed, by preference: a face detector when one is registered (so that evidence can
be attributed to facial regions), the weights-free classic localizers and detector, and the evidence-grounded dialog
backend when the dialog plugin is installed.
"""

from __future__ import annotations

from typing import Any

from forensic_core.components import ComponentKind
from forensic_core.errors import ConfigError
from forensic_core.registry import Registry

PREFERENCES: dict[str, tuple[ComponentKind, tuple[str, ...], bool]] = {
    "faces": (ComponentKind.FACE_DETECTOR, ("haar", "lbp"), False),
    # learned: the calibrated model over the classic maps (plugins/forensic-classic/README.md: held-out photo-kit
    # AUC 0.705 against 0.648 for the heuristic classic detector, 11% vs 21% of pristine photos flagged).
    "detectors": (ComponentKind.DETECTOR, ("learned",), True),
    "localizers": (ComponentKind.LOCALIZER, ("dq", "ghost"), True),
    "dialog": (ComponentKind.DIALOG, ("grounded",), False),
}


def default_pipeline(registry: Registry) -> dict[str, Any]:
    """The default pipeline as a mapping (validated like any pipeline file)."""
    data: dict[str, Any] = {}
    for role, (kind, names, is_list) in PREFERENCES.items():
        available = [name for name in names if name in registry.names(kind)]
        if not available:
            continue
        data[role] = available if is_list else available[0]
    if "detectors" not in data and "localizers" not in data:
        raise ConfigError(
            "the default pipeline needs the weights-free classic plugin, which is not installed: "
            "pip install ./plugins/forensic-classic (or give a pipeline with -p PIPELINE)"
        )
    return data
