"""Small image helpers shared by the report writer and the HTML renderer (numpy + Pillow only)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

# Anchor colours of a perceptually ordered map (dark blue -> teal -> yellow -> red), interpolated to 256 entries.
_ANCHORS = np.array(
    [[0, 0, 48], [33, 65, 155], [31, 150, 160], [120, 200, 90], [250, 220, 40], [245, 120, 30], [200, 20, 20]],
    dtype=np.float64,
)
COLORMAP = np.stack(
    [np.interp(np.linspace(0, 1, 256), np.linspace(0, 1, len(_ANCHORS)), _ANCHORS[:, c]) for c in range(3)], axis=1
).astype(np.uint8)


def to_uint8(unit_map: np.ndarray) -> np.ndarray:
    """[0, 1] float map -> uint8 (rounded)."""
    return np.clip(np.rint(np.asarray(unit_map, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)


def colorize(unit_map: np.ndarray) -> np.ndarray:
    """[0, 1] float map -> H x W x 3 uint8 through :data:`COLORMAP`."""
    return COLORMAP[to_uint8(unit_map)]


def fit_size(width: int, height: int, longest: int) -> tuple[int, int]:
    """Size scaled down (never up) so that the longest side is at most ``longest``."""
    scale = min(1.0, longest / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def resize_map(unit_map: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a float map to ``size`` = (width, height)."""
    arr = np.asarray(unit_map, dtype=np.float32)
    if (arr.shape[1], arr.shape[0]) == size:
        return arr
    return np.asarray(Image.fromarray(arr, mode="F").resize(size, Image.Resampling.BILINEAR), dtype=np.float32)


def overlay(image: np.ndarray, unit_map: np.ndarray, alpha: float = 0.55) -> np.ndarray:
    """Blend a colourised heatmap over an RGB image; weak evidence stays transparent so the photo shows."""
    heat = resize_map(unit_map, (image.shape[1], image.shape[0]))
    weight = (alpha * np.clip(heat, 0, 1) ** 0.75)[..., None]
    blended = image.astype(np.float32) * (1 - weight) + colorize(heat).astype(np.float32) * weight
    return np.clip(blended, 0, 255).astype(np.uint8)


def encode(array: np.ndarray, fmt: str = "PNG", quality: int = 88, compress_level: int = 6) -> bytes:
    """Encode an image array (H x W bool/uint8, or H x W x 3 uint8) to bytes.

    ``compress_level`` trades PNG size for speed: full-resolution heatmaps of 12-megapixel photos use 1, which
    encodes about 3x faster than zlib's default for a file about 10 % larger.
    """
    buffer = io.BytesIO()
    img = Image.fromarray(array)
    if fmt.upper() == "JPEG":
        img.convert("RGB").save(buffer, format="JPEG", quality=quality)
    else:
        img.save(buffer, format=fmt, optimize=False, compress_level=compress_level)
    return buffer.getvalue()


def load_gray(data_or_path: bytes | str) -> np.ndarray:
    """Read an 8-bit grayscale PNG back as a [0, 1] float map."""
    source = io.BytesIO(data_or_path) if isinstance(data_or_path, bytes) else data_or_path
    with Image.open(source) as img:
        return np.asarray(img.convert("L"), dtype=np.float32) / 255.0


def scale_to_uint8(values: np.ndarray) -> np.ndarray:
    """Map integer samples to 0..255 linearly over their type's range (16-bit: 65535 -> 255, 32768 -> 128).

    Pillow's ``I`` mode is 32-bit signed but mostly carries 16-bit data (PNG, TIFF); it is treated as 16-bit
    when every value fits, else over the full int32 range. Float (``F``) images are read as [0, 1] when they
    fit, else as 0..255 clipped.
    """
    if values.dtype.kind == "f":
        data = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=255.0, neginf=0.0)
        if data.size and data.min() >= 0.0 and data.max() <= 1.0:
            data = data * 255.0
        return np.clip(np.rint(data), 0, 255).astype(np.uint8)
    info = np.iinfo(values.dtype)
    low, high = int(info.min), int(info.max)
    if values.dtype == np.int32 and (values.size == 0 or (values.min() >= 0 and values.max() <= 0xFFFF)):
        low, high = 0, 0xFFFF
    shifted = values.astype(np.float64) - low
    return np.rint(shifted * (255.0 / (high - low))).astype(np.uint8)
