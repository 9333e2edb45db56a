"""The classic detector's rule: how concentrated is the anomaly of each evidence map?

A pristine photo's anomaly map is scattered (texture, saturation and noise make isolated cells unusual); a
spliced region makes a *compact* patch of unusual cells. So for each map the statistic is

    concentration = max over square windows (side ``window`` x shorter image side) of mean(z)  -  median(z)

where z is the map's per-cell robust z-score. Each map's concentration becomes a score with a logistic
``1 / (1 + exp(-(concentration - reference) / (slope * reference)))`` and the image score is the largest of
them (one clear inconsistency suffices).

The references of the default evidence, dq 4.11 and ghost 10.96, are calibrated with ``forensic eval``
(benchmarks/calibrate_classic.py): the earlier 3.0 and 8.0 scaled by one factor, the smallest that makes the
detector flag (score >= 0.5) at most 10% of the 50 pristine photos of the calibration splice set. On the held-out
set (other photos, astronaut among them) that flags 6.7% of 30 pristine photos and 60% of 60 splices and
copy-moves. 5% was not usable: 4 of the 5 false positives at 10% are one photo (skimage's clock, whose flat
regions give dq near-zero spreads and huge z-scores), so a 5% budget leaves references that flag 9% of splices.
noise 1.8, ela 1.2, nadjpg 2.4 and blindnoise 10.0 were read off the eval set (about its 90th percentile) and are
not calibrated: a detector with these maps flags more pristine photos. The score is a heuristic, not a calibrated
probability, and the detector says so in its details.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

RULE = (
    "per map: concentration = max over windows of mean robust z - median z; "
    "map score = logistic((concentration - reference) / (slope * reference)); score = max over maps"
)

REFERENCE = {"dq": 4.11, "ghost": 10.96, "noise": 1.8, "ela": 1.2, "nadjpg": 2.4, "blindnoise": 10.0}


def concentration(z: np.ndarray, window_fraction: float) -> float:
    """Largest window-mean of ``z`` above its median (0 for maps too small to hold a window)."""
    from scipy.ndimage import uniform_filter

    side = max(1, round(window_fraction * min(z.shape)))
    if z.size == 0:
        return 0.0
    local = uniform_filter(z.astype(np.float64), size=side, mode="nearest")
    half = side // 2
    inner = local[half : z.shape[0] - half or None, half : z.shape[1] - half or None]
    peak = float(inner.max()) if inner.size else float(local.max())
    return max(0.0, peak - float(np.median(z)))


def logistic(value: float, center: float, slope: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, (value - center) / slope))))


def combine(concentrations: Mapping[str, float], slope: float) -> tuple[float, dict[str, float]]:
    """Per-map scores and their maximum, the image score."""
    scores = {name: logistic(value, REFERENCE[name], slope * REFERENCE[name]) for name, value in concentrations.items()}
    return max(scores.values()), scores
