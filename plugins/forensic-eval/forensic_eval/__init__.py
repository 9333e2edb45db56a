"""forensic-eval: dataset readers and the ``forensic eval`` harness for forensic-core.

Importing this package is light: readers, metrics and plotting import numpy, OpenCV, scikit-learn and matplotlib
only inside the modules that need them, which plugin discovery never loads.
"""

from __future__ import annotations

__version__ = "0.1.0"
