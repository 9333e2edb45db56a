"""Video input: sample frames evenly over a video as RGB media items (OpenCV, imported on first use).

Split from :mod:`forensic_core.media` (which re-exports :func:`load_video_frames`): seeking where the container
allows it, else two sequential passes, with the frame size checked before any frame is decoded.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from forensic_core.errors import InputError, one_line
from forensic_core.imaging import scale_to_uint8
from forensic_core.results import MediaItem


def load_video_frames(path: Path, frames: int, max_pixels: int) -> list[MediaItem]:
    """Sample ``frames`` frames evenly over a video (first and last included) as RGB media items.

    Indices are ``np.linspace(0, count - 1, frames)`` rounded and made unique, so a video shorter than
    ``frames`` gives every frame once. ``timestamp`` is the nominal time ``index / fps`` in seconds (None when
    the container reports no rate). Containers that report no frame count, or a wrong one, are read
    sequentially instead: a counting pass, then a pass that keeps only the sampled frames, so memory stays
    at ``frames`` images. Needs OpenCV (the ``video`` extra).
    """
    path = Path(path)
    if frames < 1:
        raise ValueError(f"frames must be at least 1, got {frames}")
    try:
        import cv2
    except ImportError as exc:
        raise InputError(f"{path}: reading videos needs OpenCV; pip install 'forensic-core[video]'") from exc
    from forensic_core.media import check_regular_file  # media re-exports this module: imported at call time

    check_regular_file(path)
    try:
        capture = _open_capture(cv2, path)
        try:
            width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
            height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
            _check_frame_size(path, width, height, max_pixels)
            fps = float(capture.get(cv2.CAP_PROP_FPS))
            count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
            decoded = _read_by_seeking(cv2, capture, _sample_indices(count, frames)) if count > 0 else None
        finally:
            capture.release()
        if decoded is None:
            decoded = _read_sequentially(cv2, path, frames)
    except cv2.error as exc:
        raise InputError(f"{path}: cannot read video: {one_line(exc, limit=160, bare=(BaseException,))}") from exc
    if not decoded:
        raise InputError(f"{path}: cannot read video: no frame could be decoded")
    items = []
    for index, frame in decoded:
        image = _bgr_to_rgb(frame)
        _check_frame_size(path, image.shape[1], image.shape[0], max_pixels)
        timestamp = index / fps if fps > 0 else None
        items.append(MediaItem(image=image, source=str(path), frame_index=index, timestamp=timestamp))
    return items


def _open_capture(cv2: ModuleType, path: Path) -> Any:
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        capture.release()
        raise InputError(f"{path}: cannot read video: no installed decoder can open it")
    return capture


def _sample_indices(count: int, frames: int) -> list[int]:
    """Evenly spaced frame indices over ``count`` frames, first and last included, unique and sorted."""
    return [int(i) for i in np.unique(np.rint(np.linspace(0, count - 1, frames)).astype(np.int64))]


def _check_frame_size(path: Path, width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise InputError(
            f"{path}: video frames are {width}x{height} = {width * height:,} pixels, over the limit of "
            f"{max_pixels:,} (decompression-bomb guard; raise max_pixels to accept it)"
        )


# Beyond this gap, seeking (decode from the previous keyframe) beats decoding every frame in between.
_SEEK_GAP = 32


def _read_by_seeking(cv2: ModuleType, capture: Any, indices: list[int]) -> list[tuple[int, np.ndarray]] | None:
    """Read the frames at ``indices``; None when one cannot be read (the reported count was wrong)."""
    out: list[tuple[int, np.ndarray]] = []
    position = 0
    for index in indices:
        if index - position > _SEEK_GAP:
            capture.set(cv2.CAP_PROP_POS_FRAMES, index)
            position = index
        while position < index:
            if not capture.grab():
                return None
            position += 1
        ok, frame = capture.read()
        if not ok or frame is None:
            return None
        position += 1
        out.append((index, frame))
    return out


def _read_sequentially(cv2: ModuleType, path: Path, frames: int) -> list[tuple[int, np.ndarray]]:
    """Count the decodable frames, then decode again keeping only the evenly sampled ones."""
    capture = _open_capture(cv2, path)
    try:
        count = 0
        while capture.grab():
            count += 1
    finally:
        capture.release()
    if count == 0:
        return []
    wanted = set(_sample_indices(count, frames))
    out: list[tuple[int, np.ndarray]] = []
    capture = _open_capture(cv2, path)
    try:
        for index in range(max(wanted) + 1):
            if not capture.grab():
                break
            if index in wanted:
                ok, frame = capture.retrieve()
                if ok and frame is not None:
                    out.append((index, frame))
    finally:
        capture.release()
    return out


def _bgr_to_rgb(frame: np.ndarray) -> np.ndarray:
    """OpenCV's BGR (or grey/BGRA) frame as a contiguous RGB uint8 array."""
    if frame.ndim == 2:
        frame = np.repeat(frame[:, :, None], 3, axis=2)
    if frame.dtype != np.uint8:
        frame = scale_to_uint8(frame)
    return np.ascontiguousarray(frame[:, :, 2::-1])
