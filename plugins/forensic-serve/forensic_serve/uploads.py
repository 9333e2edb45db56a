"""What an upload is, judged by its bytes (never by the client's file name or content type).

The server stores an upload under a generated name whose suffix comes from the detected format, so the core's
media openers read it the way it really is and nothing the client chose reaches the file system.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

IMAGE_SUFFIXES = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "WEBP": ".webp", "TIFF": ".tif", "BMP": ".bmp"}
IMAGE_SUFFIXES["GIF"] = ".gif"
_HEAD = 64


class UploadRejected(Exception):
    """An upload the server will not analyse; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Sniffed:
    """The detected kind of an upload: ``image`` or ``video``, the suffix to store it under, its pixel size."""

    media: str
    suffix: str
    width: int = 0
    height: int = 0


def video_suffix(head: bytes) -> str | None:
    """The container of a video by its magic bytes (ISO BMFF, Matroska/WebM, AVI), or None."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return ".mov" if head[8:10] == b"qt" else ".mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return ".webm" if b"webm" in head[:_HEAD] else ".mkv"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return ".avi"
    return None


def sniff(path: Path, label: str, max_pixels: int) -> Sniffed:
    """Classify the file at ``path`` (named ``label`` in errors); raise :class:`UploadRejected` (415 for what is
    neither a supported image nor a video, 413 for an image over ``max_pixels``)."""
    from PIL import Image, UnidentifiedImageError

    with open(path, "rb") as handle:
        head = handle.read(_HEAD)
    if not head:
        raise UploadRejected(415, f"{label}: the upload is empty; send an image or a video in the field 'file'")
    container = video_suffix(head)
    if container is not None:
        return Sniffed("video", container)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                fmt, (width, height) = image.format or "", image.size
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise UploadRejected(413, f"{label}: the image has too many pixels; send one under {max_pixels}") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise UploadRejected(
            415, f"{label}: not an image or video this server reads (JPEG, PNG, WebP, TIFF, BMP, GIF, MP4, ...)"
        ) from None
    suffix = IMAGE_SUFFIXES.get(fmt)
    if suffix is None:
        raise UploadRejected(415, f"{label}: {fmt} images are not analysed; send JPEG, PNG, WebP, TIFF, BMP or GIF")
    if width * height > max_pixels:
        message = f"{label}: the image has {width}x{height} pixels, over the limit of {max_pixels}; send a smaller one"
        raise UploadRejected(413, message)
    return Sniffed("image", suffix, width, height)
