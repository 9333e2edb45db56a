"""Detection and localisation metrics, computed with scikit-learn (the field's reference implementation).

Labels are 1 = fake, 0 = real; scores are "higher = more likely fake". Nothing here is hand-rolled except the
equal error rate, which scikit-learn does not provide: it is read off ``sklearn.metrics.roc_curve`` as the point
where the false-positive rate meets the false-negative rate.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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
    resample has both classes and the class ratio of the data). None when a class is missing.

    A resample is a vector of counts (how often each sample was drawn), and its AUC is computed for all resamples
    at once from the tie groups of the sorted scores (the Mann-Whitney form of the AUC, ties counting one half):
    calling ``roc_auc_score`` a thousand times costs ~10 ms each. The tests check each resample's AUC against
    ``roc_auc_score`` on the same draw.
    """
    y, s = _arrays(labels, scores)
    real, fake = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    if not real.size or not fake.size:
        return None
    rng = np.random.default_rng(seed)
    aucs = np.concatenate(
        [resampled_aucs(y, s, counts) for counts in _resample_counts(rng, real, fake, y.size, resamples)]
    )
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(aucs, [tail, 1.0 - tail])
    return float(low), float(high)


def _resample_counts(
    rng: np.random.Generator, real: np.ndarray, fake: np.ndarray, n: int, resamples: int
) -> Iterator[np.ndarray]:
    """Draw counts (resamples x n) in chunks that keep the arrays near 20 M entries."""
    chunk = max(1, 20_000_000 // max(n, 1))
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        counts = np.zeros((size, n))
        counts[:, real] = rng.multinomial(real.size, np.full(real.size, 1.0 / real.size), size=size)
        counts[:, fake] = rng.multinomial(fake.size, np.full(fake.size, 1.0 / fake.size), size=size)
        yield counts


def resampled_aucs(labels: np.ndarray, scores: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """ROC AUC of each row of ``counts`` (how many times each sample is drawn): sum over tie groups of the fakes
    in the group times (the reals below it + half the reals in it), over (fakes x reals)."""
    order = np.argsort(scores, kind="stable")
    sorted_scores = scores[order]
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    fake_w = counts[:, order] * (labels[order] == 1)
    real_w = counts[:, order] * (labels[order] == 0)
    fakes = np.add.reduceat(fake_w, starts, axis=1)
    reals = np.add.reduceat(real_w, starts, axis=1)
    below = np.cumsum(reals, axis=1) - reals
    pairs = fakes.sum(axis=1) * reals.sum(axis=1)
    return np.asarray((fakes * (below + 0.5 * reals)).sum(axis=1) / pairs)


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

    ``masks`` are binary (non-zero = manipulated); ``heatmaps`` in [0, 1], or uint8 levels (value / 255, as in a
    PNG heatmap, which makes the pooled AUC a histogram instead of a sort), resized (nearest) to their mask's
    shape when they differ. ``pixel_auc`` is the ROC AUC over the pooled pixels of every sample (None when the pooled
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
        heat = np.asarray(heatmap)
        heat = _resize_nearest(heat if heat.dtype == np.uint8 else heat.astype(np.float32), truth.shape)
        truths.append(truth.ravel())
        heats.append(heat.ravel())
        if truth.any():
            # jaccard_score over the 2 x 2 contingency table, weighted by its counts: the same value as over the
            # pixels, without scikit-learn's per-call checks on a million-element array
            hit = (heat.ravel() / 255.0 if heat.dtype == np.uint8 else heat.ravel()) >= threshold
            flat = truth.ravel()
            cells = [int(np.count_nonzero(~flat & ~hit)), int(np.count_nonzero(~flat & hit))]
            cells += [int(np.count_nonzero(flat & ~hit)), int(np.count_nonzero(flat & hit))]
            ious.append(float(jaccard_score([0, 0, 1, 1], [0, 1, 0, 1], sample_weight=cells, zero_division=0.0)))
    pixel_auc = None
    if truths:
        y = np.concatenate(truths)
        if 0 < int(y.sum()) < y.size:
            # roc_auc_score over the distinct heat values weighted by their pixel counts per class: exact (the
            # same ROC curve as over every pixel) and fast for the 256 levels of a PNG heatmap
            if all(heat.dtype == np.uint8 for heat in heats):
                codes = np.concatenate(heats)
                values = np.arange(256) / 255.0
                fake = np.bincount(codes, weights=y, minlength=256)
                real = np.bincount(codes, minlength=256) - fake
            else:
                values, inverse = np.unique(
                    np.concatenate([h / 255.0 if h.dtype == np.uint8 else h for h in heats]), return_inverse=True
                )
                fake = np.bincount(inverse, weights=y, minlength=values.size)
                real = np.bincount(inverse, minlength=values.size) - fake
            keep_real, keep_fake = real > 0, fake > 0
            pixel_auc = float(
                roc_auc_score(
                    np.r_[np.zeros(int(keep_real.sum())), np.ones(int(keep_fake.sum()))],
                    np.r_[values[keep_real], values[keep_fake]],
                    sample_weight=np.r_[real[keep_real], fake[keep_fake]],
                )
            )
    return {"n": len(masks), "pixel_auc": pixel_auc, "iou": float(np.mean(ious)) if ious else None}
