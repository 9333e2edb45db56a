"""Validation during training: frame AUC, AP, EER, accuracy and pixel AUC / IoU on a fixed sample set.

The metrics are the evaluation harness's (``forensic_eval.metrics``) when it is installed; otherwise one small
scikit-learn fallback computes the same quantities, so training never depends on the harness being present.
Pixel ground truth is the blend mask binarised at 0.05 (a pixel counts as manipulated when at least 5% of the
source shows through); scores are p(fake), heatmaps the localizer's mask at the head's resolution.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from forensic_kfd.training.data import KfdSamples
from forensic_kfd.training.module import TrainingModule, head_target

PIXEL_THRESHOLD = 0.05


@torch.no_grad()
def evaluate(
    module: TrainingModule, samples: KfdSamples, *, device: torch.device, batch_size: int, autocast: Any
) -> dict[str, float]:
    """Metrics of the current model on every item of ``samples`` (epoch 0: a fixed set)."""
    kfd = module.kfd
    labels, scores, masks, heatmaps = [], [], [], []
    class_embeddings = kfd.class_embeddings()
    for start in range(0, len(samples), batch_size):
        items = [samples[(0, i)] for i in range(start, min(len(samples), start + batch_size))]
        images = torch.stack([item["images"] for item in items]).to(device)
        with autocast():
            output = kfd(images, class_embeddings)
        low = output.fake_mask_low.float().cpu()
        target = head_target(torch.stack([item["masks"] for item in items]), (low.shape[-2], low.shape[-1]))
        labels += [float(item["labels"]) for item in items]
        scores += output.scores.cpu().tolist()
        masks += list((target >= PIXEL_THRESHOLD).numpy())
        heatmaps += list(low.numpy())
    return metrics(np.asarray(labels), np.asarray(scores), masks, heatmaps)


def metrics(
    labels: np.ndarray, scores: np.ndarray, masks: Sequence[np.ndarray], heatmaps: Sequence[np.ndarray]
) -> dict[str, float]:
    try:
        from forensic_eval.metrics import binary_metrics, pixel_metrics
    except ImportError:
        binary, pixel = _binary_metrics(labels, scores), _pixel_metrics(masks, heatmaps)
    else:
        binary = dict(binary_metrics(labels, scores))
        pixel = dict(pixel_metrics(list(masks), list(heatmaps)))
    out = {f"frame_{k}" if k in ("auc", "ap", "eer", "acc") else k: v for k, v in binary.items()}
    out.update({k: v for k, v in pixel.items() if k != "n"})
    return {k: float(v) for k, v in out.items() if v is not None}


def _binary_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

    both = len(set(labels.tolist())) == 2
    result: dict[str, float] = {"n": float(len(labels)), "acc": float(((scores >= threshold) == labels).mean())}
    if both:
        fpr, tpr, _ = roc_curve(labels, scores)
        index = int(np.nanargmin(np.abs(1 - tpr - fpr)))
        result.update(
            auc=float(roc_auc_score(labels, scores)),
            ap=float(average_precision_score(labels, scores)),
            eer=float((fpr[index] + 1 - tpr[index]) / 2),
        )
    return result


def _pixel_metrics(masks: Sequence[np.ndarray], heatmaps: Sequence[np.ndarray]) -> dict[str, float]:
    from sklearn.metrics import roc_auc_score

    truth = np.concatenate([m.reshape(-1) for m in masks]).astype(bool)
    heat = np.concatenate([h.reshape(-1) for h in heatmaps])
    result: dict[str, float] = {}
    if truth.any() and not truth.all():
        result["pixel_auc"] = float(roc_auc_score(truth, heat))
    predicted = heat >= 0.5
    union = (predicted | truth).sum()
    result["iou"] = float((predicted & truth).sum() / union) if union else 1.0
    return result
