"""From samples and their analysis results to predictions and metrics.

Levels, stated everywhere a number appears:

* ``frame``: one score per still image or per sampled video frame;
* ``video``: one score per video key (:attr:`Sample.video`, the path relative to the dataset root), the mean of
  its frame scores, with the video's label;
* ``pixel``: every pixel of every sample (or sampled video frame) that has a ground-truth mask, pooled.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from forensic_core.datasets import Sample
from forensic_core.errors import ConfigError
from forensic_core.report import InputResult
from forensic_eval.metrics import binary_metrics, bootstrap_auc, pixel_metrics

COLUMNS = ("path", "frame", "label", "video", "method", "component", "score")
LEVELS = {
    "frame": "one score per image or sampled video frame",
    "video": "one score per video (mean of its frame scores), keyed by the path relative to the dataset root",
    "pixel": "pixels of the samples with a ground-truth mask, pooled (AUC); IoU of heat >= 0.5, mean per sample",
}


@dataclass(frozen=True)
class Prediction:
    """One detector's score on one image or video frame (a row of predictions.csv)."""

    path: str
    frame: int | None
    label: str
    video: str | None
    method: str | None
    component: str
    score: float
    threshold: float


def predictions(samples: Sequence[Sample], results: Mapping[str, InputResult]) -> list[Prediction]:
    """Rows in sample order, then frame order, then the pipeline's detector order."""
    rows: list[Prediction] = []
    for sample in samples:
        result = results.get(sample.path)
        if result is None:
            continue
        frames = result.frames if result.media == "video" else [result]
        for frame in frames:
            for detection in frame.detections:
                rows.append(
                    Prediction(
                        sample.path,
                        frame.index if result.media == "video" else None,
                        sample.label,
                        sample.video,
                        sample.method,
                        detection.component,
                        detection.score,
                        detection.threshold,
                    )
                )
    return rows


def write_predictions(rows: Iterable[Prediction], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for row in rows:
            frame = "" if row.frame is None else row.frame
            writer.writerow(
                [row.path, frame, row.label, row.video or "", row.method or "", row.component, f"{row.score:.6g}"]
            )


def _block(labels: list[int], scores: list[float], threshold: float, resamples: int) -> dict[str, Any]:
    """binary_metrics plus the true- and false-positive rates at ``threshold`` and the AUC's bootstrap interval."""
    block = binary_metrics(labels, scores, threshold)
    y, s = np.asarray(labels, dtype=bool), np.asarray(scores) >= threshold
    block["tpr"] = float(s[y].mean()) if y.any() else None
    block["fpr"] = float(s[~y].mean()) if (~y).any() else None
    interval = bootstrap_auc(labels, scores, resamples=resamples) if resamples else None
    block["auc_ci95"] = list(interval) if interval else None
    return block


def video_scores(rows: Sequence[Prediction]) -> dict[str, tuple[int, float, str | None]]:
    """Per video key: (label 1 = fake, mean frame score, method). Rows without a video key are left out."""
    grouped: dict[str, list[Prediction]] = {}
    for row in rows:
        if row.video is not None:
            grouped.setdefault(row.video, []).append(row)
    videos: dict[str, tuple[int, float, str | None]] = {}
    for key, members in grouped.items():
        labels = {row.label for row in members}
        if len(labels) > 1:
            raise ConfigError(f"video {key!r} has samples labelled both real and fake; give it one label")
        videos[key] = (
            int(members[0].label == "fake"),
            float(np.mean([row.score for row in members])),
            members[0].method,
        )
    return videos


def detector_metrics(rows: Sequence[Prediction], *, resamples: int = 1000) -> dict[str, dict[str, Any]]:
    """Per detector: ``frame`` and ``video`` blocks and per-method AUCs (reals against that method's fakes).

    Accuracy is at the detector's own threshold (the one its labels use), so it measures the shipped decision.
    """
    out: dict[str, dict[str, Any]] = {}
    for component in dict.fromkeys(row.component for row in rows):
        mine = [row for row in rows if row.component == component]
        threshold = mine[0].threshold
        frame_y = [int(row.label == "fake") for row in mine]
        frame_s = [row.score for row in mine]
        videos = video_scores(mine)
        video_y = [label for label, _, _ in videos.values()]
        video_s = [score for _, score, _ in videos.values()]
        methods: dict[str, Any] = {}
        for method in sorted({row.method for row in mine if row.label == "fake" and row.method}):
            pick = [row for row in mine if row.label == "real" or row.method == method]
            block = {"frame": _auc_block([int(r.label == "fake") for r in pick], [r.score for r in pick], resamples)}
            picked = [(y, s) for y, s, m in videos.values() if y == 0 or m == method]
            block["video"] = _auc_block([y for y, _ in picked], [s for _, s in picked], resamples)
            methods[method] = block
        out[component] = {
            "frame": _block(frame_y, frame_s, threshold, resamples),
            "video": _block(video_y, video_s, threshold, resamples),
            "methods": methods,
        }
    return out


def _auc_block(labels: list[int], scores: list[float], resamples: int) -> dict[str, Any]:
    block = _block(labels, scores, 0.5, resamples)
    return {"n": block["n"], "n_fake": int(sum(labels)), "auc": block["auc"], "auc_ci95": block["auc_ci95"]}


def _read_mask(path: str) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("L")) > 127


def _read_heatmap(run_dir: Path, record: Any) -> np.ndarray:
    if record.heatmap_npy:
        return np.load(run_dir / record.heatmap_npy).astype(np.float32)
    from PIL import Image

    with Image.open(run_dir / record.heatmap) as image:
        return np.asarray(image.convert("L"))  # uint8 levels: pixel_metrics reads them as value / 255


def _read_video_masks(path: str, indices: Sequence[int]) -> dict[int, np.ndarray]:
    """The frames ``indices`` of a mask video (white = manipulated), as binary masks; unreadable frames are left
    out, so their heatmaps are not scored."""
    import cv2

    capture = cv2.VideoCapture(path)
    masks: dict[int, np.ndarray] = {}
    try:
        for index in indices:
            capture.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, frame = capture.read()
            if ok:
                masks[index] = np.asarray(frame).max(axis=2) > 127
    finally:
        capture.release()
    return masks


def localizer_metrics(
    samples: Sequence[Sample], results: Mapping[str, InputResult], run_dir: Path
) -> dict[str, dict[str, Any]]:
    """Per localizer: ``{n, pixel_auc, iou}`` over the still images with a mask and the video frames whose
    sample has a mask video (``meta["mask_video"]``, e.g. FF++), read at the frames the run sampled."""
    pairs: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {}

    def add(mask: np.ndarray, records: Sequence[Any]) -> None:
        for record in records:
            masks, heats = pairs.setdefault(record.component, ([], []))
            masks.append(mask)
            heats.append(_read_heatmap(run_dir, record))

    for sample in samples:
        result = results.get(sample.path)
        if result is None:
            continue
        if result.media == "image" and sample.mask is not None and result.localizations:
            add(_read_mask(sample.mask), result.localizations)
        elif result.media == "video" and sample.meta.get("mask_video"):
            frames = [f for f in result.frames if f.localizations and f.index is not None]
            video_masks = _read_video_masks(
                str(sample.meta["mask_video"]), [f.index for f in frames if f.index is not None]
            )
            for frame in frames:
                if frame.index in video_masks:
                    add(video_masks[frame.index], frame.localizations)
    return {component: pixel_metrics(masks, heats) for component, (masks, heats) in pairs.items()}
