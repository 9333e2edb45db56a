"""Detection and localisation metrics, computed with scikit-learn (the field's reference implementation).

Labels are 1 = fake, 0 = real; scores are "higher = more likely fake". Nothing here is hand-rolled except the
equal error rate, which scikit-learn does not provide: it is read off ``sklearn.metrics.roc_curve`` as the point
where the false-positive rate meets the false-negative rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

NO_EER_THRESHOLD = 0.5
"""Decision threshold used by :func:`binary_metrics` when none is given and the EER is undefined (one class)."""


def _arrays(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels, dtype=np.int64).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"{y.size} labels but {s.size} scores")
    if y.size and not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 (real) or 1 (fake)")
    return y, s


def equal_error_rate(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """(EER, threshold at the EER) from the ROC curve; the threshold is the ROC point where FPR and FNR are closest,
    and the EER their mean there."""
    from sklearn.metrics import roc_curve

    y, s = _arrays(labels, scores)
    fpr, tpr, thresholds = roc_curve(y, s)
    fnr = 1.0 - tpr
    index = int(np.nanargmin(np.abs(fnr - fpr)))
    # roc_curve's first threshold is +inf (nothing flagged); the nearest finite equivalent is just above the top score.
    threshold = float(thresholds[index]) if np.isfinite(thresholds[index]) else float(np.nextafter(s.max(), np.inf))
    return float((fpr[index] + fnr[index]) / 2.0), threshold


def binary_metrics(
    labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray, threshold: float | None = None
) -> dict[str, Any]:
    """``{n, auc, ap, eer, acc, threshold}`` of a detector.

    ``threshold`` is the decision threshold for ``acc`` (score >= threshold means fake). When it is None the EER
    threshold is used (the one point of the ROC curve that needs no prior on the class ratio), or 0.5 when only
    one class is present. ``auc``, ``ap`` and ``eer`` are None when only one class is present.
    """
    from sklearn.metrics import accuracy_score, average_precision_score, roc_auc_score

    y, s = _arrays(labels, scores)
    both = y.size > 0 and 0 < int(y.sum()) < y.size
    auc = ap = eer = None
    eer_threshold = NO_EER_THRESHOLD
    if both:
        auc = float(roc_auc_score(y, s))
        ap = float(average_precision_score(y, s))
        eer, eer_threshold = equal_error_rate(y, s)
    used = eer_threshold if threshold is None else float(threshold)
    acc = float(accuracy_score(y, (s >= used).astype(np.int64))) if y.size else None
    return {"n": int(y.size), "auc": auc, "ap": ap, "eer": eer, "acc": acc, "threshold": used}


def bootstrap_auc(
    labels: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    *,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the ROC AUC, resampling reals and fakes separately (stratified, so every
    resample has both classes and the class ratio of the data). None when a class is missing."""
    from sklearn.metrics import roc_auc_score

    y, s = _arrays(labels, scores)
    real, fake = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    if not real.size or not fake.size:
        return None
    rng = np.random.default_rng(seed)
    aucs = np.empty(resamples)
    for index in range(resamples):
        pick = np.concatenate([rng.choice(real, real.size), rng.choice(fake, fake.size)])
        aucs[index] = roc_auc_score(y[pick], s[pick])
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(aucs, [tail, 1.0 - tail])
    return float(low), float(high)


def _resize_nearest(heatmap: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    if heatmap.shape == shape:
        return heatmap
    rows = (np.arange(shape[0]) * heatmap.shape[0] // shape[0]).clip(0, heatmap.shape[0] - 1)
    cols = (np.arange(shape[1]) * heatmap.shape[1] // shape[1]).clip(0, heatmap.shape[1] - 1)
    return heatmap[rows[:, None], cols[None, :]]


def pixel_metrics(
    masks: Sequence[np.ndarray], heatmaps: Sequence[np.ndarray], *, threshold: float = 0.5
) -> dict[str, Any]:
    """``{n, pixel_auc, iou}`` of a localizer over samples with ground-truth masks.

    ``masks`` are binary (non-zero = manipulated); ``heatmaps`` in [0, 1], resized (nearest) to their mask's shape
    when they differ. ``pixel_auc`` is the ROC AUC over the pooled pixels of every sample (None when the pooled
    pixels hold one class only); ``iou`` the mean over samples whose mask marks some pixel of the intersection
    over union of ``heatmap >= threshold`` with the mask (None when no mask marks a pixel).
    """
    from sklearn.metrics import jaccard_score, roc_auc_score

    if len(masks) != len(heatmaps):
        raise ValueError(f"{len(masks)} masks but {len(heatmaps)} heatmaps")
    truths: list[np.ndarray] = []
    heats: list[np.ndarray] = []
    ious: list[float] = []
    for mask, heatmap in zip(masks, heatmaps, strict=True):
        truth = np.asarray(np.asarray(mask) > 0)
        if truth.ndim == 3:
            truth = np.asarray(truth.any(axis=2))
        heat = _resize_nearest(np.asarray(heatmap, dtype=np.float32), truth.shape)
        truths.append(truth.ravel())
        heats.append(heat.ravel())
        if truth.any():
            ious.append(float(jaccard_score(truth.ravel(), heat.ravel() >= threshold, zero_division=0.0)))
    pixel_auc = None
    if truths:
        y = np.concatenate(truths)
        if 0 < int(y.sum()) < y.size:
            pixel_auc = float(roc_auc_score(y, np.concatenate(heats)))
    return {"n": len(masks), "pixel_auc": pixel_auc, "iou": float(np.mean(ious)) if ious else None}
