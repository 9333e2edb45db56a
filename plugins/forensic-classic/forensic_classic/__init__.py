"""forensic-classic: weights-free image forensics (ELA, noise residuals, JPEG ghosts) for forensic-core.

Importing the package is light; the numpy/scipy work is in :mod:`forensic_classic.components`, loaded on first use.
"""

from __future__ import annotations

__version__ = "0.1.0"
