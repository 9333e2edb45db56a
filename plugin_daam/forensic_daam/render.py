"""Pictures of DAAM maps: heat overlays, a strip of the L accumulated maps, an animation of the attention flow.

numpy + Pillow (no matplotlib: it costs a second to import and adds nothing here); the MP4 writer imports OpenCV
when called. Maps are float arrays in [0, 1] of any size; they are resized to the image with bilinear interpolation.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def colorize(heat: np.ndarray) -> np.ndarray:
    """Jet colour map: (H, W) floats in [0, 1] -> (H, W, 3) uint8."""
    x = np.clip(np.asarray(heat, dtype=np.float32), 0.0, 1.0)[..., None]
    centres = np.array([3.0, 2.0, 1.0], dtype=np.float32)
    rgb = np.clip(1.5 - np.abs(4.0 * x - centres), 0.0, 1.0)
    return (rgb * 255.0 + 0.5).astype(np.uint8)


def _resize_map(heat: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(h, w) -> (H, W) for ``size`` = (W, H) in PIL order."""
    heat = np.asarray(heat, dtype=np.float32)
    if heat.shape[::-1] == size:
        return heat
    return np.asarray(Image.fromarray(heat).resize(size, Image.Resampling.BILINEAR), dtype=np.float32)


def overlay(image: np.ndarray, heat: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Blend the colourised ``heat`` over ``image`` (H, W, 3 uint8); ``heat`` is resized to the image."""
    base = np.asarray(image, dtype=np.float32)
    colour = colorize(_resize_map(heat, (base.shape[1], base.shape[0]))).astype(np.float32)
    return np.clip((1.0 - alpha) * base + alpha * colour, 0, 255).astype(np.uint8)


def _panel(image: np.ndarray, height: int) -> np.ndarray:
    h, w = image.shape[:2]
    if h == height:
        return image
    width = max(1, round(w * height / h))
    return np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.BILINEAR))


def _label(image: np.ndarray, text: str) -> np.ndarray:
    picture = Image.fromarray(image)
    draw = ImageDraw.Draw(picture)
    box = draw.textbbox((2, 1), text)
    draw.rectangle((box[0] - 2, box[1] - 1, box[2] + 2, box[3] + 1), fill=(0, 0, 0))
    draw.text((2, 1), text, fill=(255, 255, 255))
    return np.asarray(picture)


def _frames(image: np.ndarray, maps: np.ndarray, height: int, alpha: float, prefix: str) -> list[np.ndarray]:
    base = _panel(np.ascontiguousarray(image), height)
    return [_label(overlay(base, heat, alpha), f"{prefix}{index + 1}") for index, heat in enumerate(maps)]


def strip(
    image: np.ndarray,
    maps: np.ndarray | Sequence[np.ndarray],
    *,
    height: int = 160,
    alpha: float = 0.5,
    prefix: str = "D",
    gap: int = 2,
) -> np.ndarray:
    """One row: the input, then each of the L maps over it (labelled D1..DL). Returns H x W' x 3 uint8."""
    maps = np.asarray(maps, dtype=np.float32)
    panels = [_label(_panel(np.ascontiguousarray(image), height), "input")]
    panels += _frames(image, maps, height, alpha, prefix)
    spacer = np.full((height, gap, 3), 255, dtype=np.uint8)
    row: list[np.ndarray] = []
    for panel in panels:
        row += [panel, spacer]
    return np.concatenate(row[:-1], axis=1)


def animation(
    image: np.ndarray,
    maps: np.ndarray | Sequence[np.ndarray],
    *,
    height: int = 224,
    alpha: float = 0.5,
    frame_ms: int = 350,
    hold_ms: int = 1200,
    prefix: str = "D",
) -> bytes:
    """Animated GIF of the accumulated maps D1..DL over the image (the 'flow' of attention), as bytes."""
    frames = [Image.fromarray(frame) for frame in _frames(image, np.asarray(maps, np.float32), height, alpha, prefix)]
    durations = [frame_ms] * (len(frames) - 1) + [hold_ms]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)
    return buffer.getvalue()


def video(
    image: np.ndarray,
    maps: np.ndarray | Sequence[np.ndarray],
    *,
    height: int = 224,
    alpha: float = 0.5,
    frame_ms: int = 350,
    hold_ms: int = 1200,
    prefix: str = "D",
) -> bytes:
    """The same attention flow as :func:`animation`, as MP4 bytes (OpenCV's writer, MPEG-4 Part 2 'mp4v').

    MP4 plays at a constant rate, so each map is one frame at 1000 / ``frame_ms`` fps and the final map is repeated
    to last about ``hold_ms``. Frames are padded to even sizes (what most players expect of MPEG-4 video).
    """
    try:
        import cv2
    except ImportError as error:
        raise RuntimeError(
            "the MP4 animation needs OpenCV: pip install opencv-python-headless (or turn the MP4 option off)"
        ) from error
    frames = _frames(image, np.asarray(maps, np.float32), height, alpha, prefix)
    frames += [frames[-1]] * max(0, round(hold_ms / frame_ms) - 1)
    rows, cols = frames[0].shape[:2]
    padded = (rows + rows % 2, cols + cols % 2)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "flow.mp4"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 1000.0 / frame_ms, padded[::-1])
        if not writer.isOpened():
            raise RuntimeError("OpenCV could not open an MP4 ('mp4v') writer in this build")
        try:
            for frame in frames:
                canvas = np.zeros((*padded, 3), dtype=np.uint8)
                canvas[:rows, :cols] = frame
                writer.write(np.ascontiguousarray(canvas[..., ::-1]))  # OpenCV takes BGR
        finally:
            writer.release()
        return path.read_bytes()


def encode_png(image: np.ndarray) -> bytes:
    """H x W x 3 uint8 (or H x W) -> PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buffer, format="PNG")
    return buffer.getvalue()
