"""Metrics agree with a direct scikit-learn computation; EER, bootstrap and pixel metrics on known inputs."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, average_precision_score, jaccard_score, roc_auc_score, roc_curve

from forensic_eval.metrics import binary_metrics, bootstrap_auc, equal_error_rate, pixel_metrics, resampled_aucs

LABELS = [0, 0, 0, 0, 1, 1, 1, 1, 0, 1]
SCORES = [0.1, 0.4, 0.35, 0.8, 0.7, 0.9, 0.3, 0.65, 0.2, 0.55]


def test_binary_metrics_agree_with_sklearn() -> None:
    got = binary_metrics(LABELS, SCORES, threshold=0.5)
    assert got["n"] == 10
    assert got["auc"] == pytest.approx(roc_auc_score(LABELS, SCORES))
    assert got["ap"] == pytest.approx(average_precision_score(LABELS, SCORES))
    assert got["acc"] == pytest.approx(accuracy_score(LABELS, np.asarray(SCORES) >= 0.5))
    assert got["threshold"] == 0.5


def test_eer_is_where_false_positive_and_false_negative_rates_meet() -> None:
    # at 0.55, 1 of 5 reals (0.8) is flagged and 1 of 5 fakes (0.3) missed: FPR = FNR = 0.2
    eer, threshold = equal_error_rate(LABELS, SCORES)
    fpr, tpr, thresholds = roc_curve(LABELS, SCORES)
    at = int(np.flatnonzero(thresholds == threshold)[0])
    assert fpr[at] == pytest.approx(1 - tpr[at])
    assert eer == pytest.approx(0.2)
    assert threshold == pytest.approx(0.55)


def test_default_threshold_is_the_eer_threshold() -> None:
    got = binary_metrics(LABELS, SCORES)
    assert got["threshold"] == pytest.approx(0.55)
    assert got["eer"] == pytest.approx(0.2)
    assert got["acc"] == pytest.approx(accuracy_score(LABELS, np.asarray(SCORES) >= 0.55))


def test_perfect_separation() -> None:
    got = binary_metrics([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert (got["auc"], got["ap"], got["eer"], got["acc"]) == (1.0, 1.0, 0.0, 1.0)


def test_one_class_has_no_auc_and_uses_half() -> None:
    got = binary_metrics([1, 1, 1], [0.2, 0.6, 0.9])
    assert got["auc"] is None and got["ap"] is None and got["eer"] is None
    assert got["threshold"] == 0.5
    assert got["acc"] == pytest.approx(2 / 3)


def test_bad_labels_are_refused() -> None:
    with pytest.raises(ValueError, match=r"0 \(real\) or 1"):
        binary_metrics([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match=r"2 labels but 3 scores"):
        binary_metrics([0, 1], [0.1, 0.2, 0.3])


def test_bootstrap_interval_brackets_the_auc_and_is_reproducible() -> None:
    rng = np.random.default_rng(1)
    labels = np.r_[np.zeros(60), np.ones(60)].astype(int)
    scores = np.r_[rng.normal(0, 1, 60), rng.normal(1, 1, 60)]
    low, high = bootstrap_auc(labels, scores, resamples=300)
    auc = roc_auc_score(labels, scores)
    assert low < auc < high
    assert 0.05 < high - low < 0.4
    assert bootstrap_auc(labels, scores, resamples=300) == (low, high)
    assert bootstrap_auc([1, 1], [0.1, 0.2]) is None


def test_pixel_metrics_on_known_masks() -> None:
    mask = np.zeros((4, 4), dtype=np.uint8)
    mask[:2, :2] = 255  # 4 manipulated pixels
    heat = np.zeros((4, 4), dtype=np.float32)
    heat[0, :4] = 0.9  # 2 hits, 2 false alarms -> IoU 2 / 6
    heat[1, 0] = 0.4
    second_mask = np.zeros((4, 4), dtype=np.uint8)
    second_mask[3, 3] = 1
    second_heat = np.zeros((4, 4), dtype=np.float32)
    second_heat[3, 3] = 0.7  # exact -> IoU 1
    got = pixel_metrics([mask, second_mask], [heat, second_heat])
    assert got["n"] == 2
    assert got["iou"] == pytest.approx((2 / 6 + 1.0) / 2)
    pooled_truth = np.r_[(mask > 0).ravel(), (second_mask > 0).ravel()]
    assert got["pixel_auc"] == pytest.approx(roc_auc_score(pooled_truth, np.r_[heat.ravel(), second_heat.ravel()]))
    assert jaccard_score((mask > 0).ravel(), heat.ravel() >= 0.5) == pytest.approx(2 / 6)


def test_pixel_metrics_resize_heatmaps_to_the_mask() -> None:
    mask = np.zeros((4, 4), dtype=np.uint8)
    mask[:2] = 1
    heat = np.array([[1.0, 1.0], [0.0, 0.0]], dtype=np.float32)  # half resolution, top half hot
    got = pixel_metrics([mask], [heat])
    assert got["iou"] == 1.0 and got["pixel_auc"] == 1.0


def test_pixel_metrics_of_empty_masks() -> None:
    got = pixel_metrics([np.zeros((3, 3))], [np.ones((3, 3))])
    assert got == {"n": 1, "pixel_auc": None, "iou": None}


def test_each_bootstrap_resample_auc_equals_sklearn_on_that_draw() -> None:
    rng = np.random.default_rng(5)
    labels = np.r_[np.zeros(30), np.ones(25)].astype(int)
    scores = np.round(rng.random(55), 1)  # few distinct values: many ties
    counts = np.stack([np.bincount(rng.choice(55, 55), minlength=55) for _ in range(20)]).astype(float)
    got = resampled_aucs(labels, scores, counts)
    for row, auc in zip(counts, got, strict=True):
        drawn = np.repeat(np.arange(55), row.astype(int))
        assert auc == pytest.approx(roc_auc_score(labels[drawn], scores[drawn]), abs=1e-12)


def test_pooled_pixel_auc_equals_sklearn_over_every_pixel() -> None:
    rng = np.random.default_rng(6)
    masks = [rng.random((20, 30)) < 0.2 for _ in range(4)]
    heats = [np.round(np.clip(m * 0.3 + rng.random((20, 30)) * 0.8, 0, 1) * 255) / 255 for m in masks]
    expected = roc_auc_score(np.concatenate([m.ravel() for m in masks]), np.concatenate([h.ravel() for h in heats]))
    assert pixel_metrics(masks, heats)["pixel_auc"] == pytest.approx(expected, abs=1e-12)
    iou = np.mean([jaccard_score(m.ravel(), h.ravel() >= 0.5) for m, h in zip(masks, heats, strict=True)])
    assert pixel_metrics(masks, heats)["iou"] == pytest.approx(iou)


def test_uint8_heatmaps_are_levels_over_255() -> None:
    rng = np.random.default_rng(7)
    masks = [rng.random((16, 16)) < 0.3 for _ in range(3)]
    codes = [rng.integers(0, 256, (16, 16), dtype=np.uint8) for _ in range(3)]
    assert pixel_metrics(masks, codes) == pytest.approx(pixel_metrics(masks, [c / 255.0 for c in codes]))
