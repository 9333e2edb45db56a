"""forensic-kfd: the Knowledge-guided Forgery Detector on open_clip, as forensic-core components.

Importing this package is light; the model lives in :mod:`forensic_kfd.model` (torch, open_clip) and is loaded by
the component factories in :mod:`forensic_kfd.components` on first use.
"""

from __future__ import annotations

__version__ = "0.1.0"
