"""forensic-daam: Dynamic Accumulated Attention Maps (Liao, Gao, Zhang, Pattern Recognition 2025) for ViTs.

Library: :func:`daam` (supervised), :func:`daam_ssl` (self-supervised, with :class:`KnnImportance` or the
:class:`ReferenceImportance` extension), display helpers, renderers and faithfulness metrics. Framework: the
``daam`` explainer and the ``forensic daam`` command, registered by :mod:`forensic_daam.plugin`.

Importing this package is light: torch is imported on first use of a library name, so that plugin discovery
(which imports :mod:`forensic_daam.plugin`, and therefore this file) stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "daam": "forensic_daam.attribution",
    "DaamResult": "forensic_daam.attribution",
    "class_token_contributions": "forensic_daam.attribution",
    "daam_ssl": "forensic_daam.ssl",
    "KnnImportance": "forensic_daam.ssl",
    "ReferenceImportance": "forensic_daam.ssl",
    "knn_vote": "forensic_daam.ssl",
    "normalize_maps": "forensic_daam.display",
    "upsample": "forensic_daam.display",
    "place": "forensic_daam.display",
    "strip": "forensic_daam.render",
    "animation": "forensic_daam.render",
    "video": "forensic_daam.render",
    "overlay": "forensic_daam.render",
    "encode_png": "forensic_daam.render",
    "causal_metric": "forensic_daam.metrics",
    "perturbation_test": "forensic_daam.metrics",
    "attention_rollout": "forensic_daam.baselines",
    "grad_cam": "forensic_daam.baselines",
    "UnsupportedModelError": "forensic_daam.errors",
}

__all__ = [*sorted(_EXPORTS), "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'forensic_daam' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
