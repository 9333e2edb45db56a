"""Media input: find the files a batch names, and read them as H x W x 3 uint8 RGB arrays.

Everything a detector sees passes through here, so this module normalises what cameras and editors actually
produce (EXIF rotation, palettes, alpha, CMYK, 16-bit samples) into one representation, and refuses hostile
inputs (decompression bombs, corrupt files) with a one-line :class:`~forensic_core.errors.InputError` that names
the file, so a batch reports the problem and goes on. Images need only Pillow; videos need OpenCV, which is an
optional extra imported on first use.
"""

from __future__ import annotations

import logging
import os
import stat
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from forensic_core.errors import InputError, one_line
from forensic_core.imaging import scale_to_uint8 as _scale_to_uint8
from forensic_core.results import MediaItem
from forensic_core.video import load_video_frames

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "IMAGE_SUFFIXES",
    "VIDEO_SUFFIXES",
    "InputProblem",
    "check_regular_file",
    "iter_input_paths",
    "load_image",
    "load_video_frames",
    "open_media",
]

log = logging.getLogger(__name__)

IMAGE_SUFFIXES: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif"})
VIDEO_SUFFIXES: frozenset[str] = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v"})
MEDIA_SUFFIXES: frozenset[str] = IMAGE_SUFFIXES | VIDEO_SUFFIXES

DEFAULT_MAX_PIXELS = 100_000_000
"""Largest image (or video frame) accepted, in pixels: the decompression-bomb guard.

A few-kilobyte file can declare a gigapixel canvas; decoding it would take gigabytes of memory. The declared
size is checked from the header before any pixel is decoded. 100 MP covers every consumer camera (about 300 MB
as RGB). Pillow has its own hard refusal above ``2 * PIL.Image.MAX_IMAGE_PIXELS`` (about 179 MP) that applies at
open time; a larger ``max_pixels`` also needs that global raised.
"""

# Decoders allowed to open inputs. Pillow would otherwise try every plugin it has (EPS even runs Ghostscript),
# which is needless attack surface for untrusted evidence. (The JPEG opener also returns multi-picture MPO files.)
_PIL_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "BMP", "DIB", "GIF")
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_REASON_MAX = 160


@dataclass(frozen=True)
class InputProblem:
    """An input that could not even be listed (missing path, unreadable directory); reported, not raised."""

    source: str
    reason: str


class _UnidentifiedError(InputError):
    """Pillow recognised none of the allowed formats; :func:`open_media` turns it into 'unsupported file type'."""


def iter_input_paths(
    inputs: Iterable[str | Path],
    *,
    extra_suffixes: Iterable[str] = (),
    exclude: Iterable[Path] = (),
) -> Iterator[Path | InputProblem]:
    """Yield the files named by ``inputs``, lazily, in a deterministic order.

    A regular file is yielded as given whatever its suffix (the user asked for it; the opener decides). A
    directory is walked recursively in sorted name order (so runs and reports are reproducible), yielding only
    files with a known image/video suffix or one of ``extra_suffixes`` (the suffixes installed media openers
    declare; case-insensitive) and skipping hidden entries (``.git``, ``.DS_Store`` ...). Folders in ``exclude``
    (compared by resolved path: the run's own output folder inside an input folder) are never walked into.

    Named pipes, devices and sockets are yielded as an :class:`InputProblem` and never opened (reading a FIFO
    blocks until something writes to it; reading a device can have effects): named on the command line always,
    inside a folder when their name has a media suffix. A missing path is an :class:`InputProblem` too, so one
    typo does not stop a batch. Memory stays bounded by the largest directory listing times the depth, not by
    the number of inputs.
    """
    suffixes = MEDIA_SUFFIXES | {_dotted(suffix) for suffix in extra_suffixes}
    excluded = frozenset(_resolved(Path(path)) for path in exclude)
    for given in inputs:
        if str(given) == "":
            yield InputProblem(source="", reason="empty path")
            continue
        path = Path(given)
        try:
            mode = path.stat().st_mode
        except OSError as exc:
            yield InputProblem(source=str(path), reason=_missing_reason(path, exc))
            continue
        if stat.S_ISDIR(mode):
            if _is_excluded(path, excluded):
                yield InputProblem(source=str(path), reason="is the run's output folder; not analysed")
            else:
                yield from _walk(path, (), suffixes, excluded)
        elif stat.S_ISREG(mode):
            yield path
        else:
            yield InputProblem(source=str(path), reason=_refusal(mode))


def check_regular_file(path: Path) -> None:
    """Raise a one-line :class:`InputError` unless ``path`` is a regular file (symlinks followed); opens nothing.

    Every opener calls this first: a FIFO would block the run until some other process writes to it, and a
    device may act on being opened.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise InputError(f"{path}: {_missing_reason(Path(path), exc)}") from exc
    if not stat.S_ISREG(mode):
        raise InputError(f"{path}: {_refusal(mode)}")


def _open_regular(path: Path) -> BinaryIO:
    """Open ``path`` for reading only if it is a regular file, checked again on the open descriptor.

    ``O_NONBLOCK`` makes opening a FIFO that was swapped in after :func:`check_regular_file` return at once
    instead of blocking; the ``fstat`` then refuses it. It has no effect on reading a regular file.
    """
    check_regular_file(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(path, flags)
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise InputError(f"{path}: {_refusal(mode)}")
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


_FILE_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


def _refusal(mode: int) -> str:
    kind = next((name for test, name in _FILE_KINDS if test(mode)), "a special file")
    return f"not a regular file but {kind}; refused without opening it"


def _missing_reason(path: Path, exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "broken symbolic link" if path.is_symlink() else "no such file or directory"
    return f"cannot access: {_os_reason(exc)}"


def _dotted(suffix: str) -> str:
    return "." + suffix.strip().lower().lstrip(".")


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return path.absolute()


def _is_excluded(path: Path, excluded: frozenset[Path]) -> bool:
    if not excluded:
        return False
    resolved = _resolved(path)
    return any(resolved == folder or resolved.is_relative_to(folder) for folder in excluded)


def _walk(
    directory: Path,
    ancestors: tuple[tuple[int, int], ...],
    suffixes: frozenset[str],
    excluded: frozenset[Path],
) -> Iterator[Path | InputProblem]:
    """Depth-first walk in name order; ``ancestors`` (device, inode) pairs stop symlink loops."""
    try:
        info = directory.stat()
        key = (info.st_dev, info.st_ino)
        if key in ancestors:
            return
        with os.scandir(directory) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
    except OSError as exc:
        yield InputProblem(source=str(directory), reason=f"cannot list directory: {_os_reason(exc)}")
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = directory / entry.name
        try:
            is_dir = entry.is_dir()  # the directory entry's type; a stat only for symbolic links
        except OSError:
            is_dir = False
        if is_dir:
            if not _is_excluded(path, excluded):
                yield from _walk(path, (*ancestors, key), suffixes, excluded)
            continue
        if path.suffix.lower() not in suffixes:
            continue
        try:
            mode: int | None = entry.stat().st_mode  # follows symlinks, like the opener would
        except OSError:
            mode = None
        if mode is None:
            if entry.is_symlink():
                yield InputProblem(source=str(path), reason="broken symbolic link")
        elif stat.S_ISREG(mode):
            yield path
        else:
            yield InputProblem(source=str(path), reason=_refusal(mode))


def load_image(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read a still image as an H x W x 3 uint8 RGB array, as a viewer would display it.

    Reads JPEG, PNG, WebP, TIFF, BMP and GIF (first frame). The EXIF orientation is applied, because detectors
    and heatmaps must match what a person sees. Alpha is composited over white, palettes/grey/1-bit/CMYK are
    converted to RGB, and 16-bit samples are scaled by the range of their type (65535 -> 255), never clipped.
    The declared pixel count is checked against ``max_pixels`` before decoding. Every failure is an
    :class:`InputError` of one line naming the file.
    """
    path = Path(path)
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be positive, got {max_pixels}")
    try:
        with warnings.catch_warnings():
            # Our own limit is authoritative; Pillow's softer warning threshold would only add noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with _open_regular(path) as stream, Image.open(stream, formats=_PIL_FORMATS) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise InputError(
                        f"{path}: image is {width}x{height} = {width * height:,} pixels, over the limit of "
                        f"{max_pixels:,} (decompression-bomb guard; raise max_pixels to accept it)"
                    )
                image.load()
                return _to_rgb(_apply_orientation(image, path))
    except InputError:
        raise
    except UnidentifiedImageError as exc:
        supported = ", ".join(_PIL_FORMATS)
        raise _UnidentifiedError(f"{path}: cannot read image: not a recognised format ({supported})") from exc
    except Image.DecompressionBombError as exc:
        raise InputError(f"{path}: image refused as a decompression bomb: {_short(exc)}") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read image: {_os_reason(exc)}") from exc
    except (SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError, MemoryError) as exc:
        # Pillow's plugins signal malformed headers and streams with all of these.
        raise InputError(f"{path}: cannot read image: {_short(exc)}") from exc


def _apply_orientation(image: Image.Image, path: Path) -> Image.Image:
    """Apply the EXIF orientation; malformed EXIF leaves the pixels as stored rather than failing the file."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception as exc:  # a broken metadata block must not cost the evidence itself
        log.warning("%s: EXIF orientation ignored: %s", path, _short(exc))
        return image


def _to_rgb(image: Image.Image) -> np.ndarray:
    """Convert any decoded Pillow mode to a fresh, contiguous H x W x 3 uint8 RGB array."""
    mode = image.mode
    if mode == "RGB":
        return np.array(image, dtype=np.uint8)
    if mode in _ALPHA_MODES or (mode == "P" and "transparency" in image.info):
        return _over_white(np.asarray(image.convert("RGBA")))
    if mode.startswith("I") or mode == "F":
        grey = _scale_to_uint8(np.asarray(image))
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    return np.array(image.convert("RGB"), dtype=np.uint8)


def _over_white(rgba: np.ndarray) -> np.ndarray:
    """Composite straight (non-premultiplied) RGBA over white, rounding to nearest."""
    rgb = rgba[..., :3].astype(np.uint32)
    alpha = rgba[..., 3:4].astype(np.uint32)
    out = (rgb * alpha + 255 * (255 - alpha) + 127) // 255
    return out.astype(np.uint8)


def open_media(path: Path, frames: int = 8, max_pixels: int = DEFAULT_MAX_PIXELS) -> list[MediaItem]:
    """Open one input as media items: sampled frames for a video, one item for an image.

    Chosen by suffix. A file with an unknown suffix is still tried as an image (files are often misnamed);
    if no image decoder recognises it, the error says which types are supported. This is the core's own
    opener; plugins extend it through the ``forensic_open_media`` hook.
    """
    path = Path(path)
    check_regular_file(path)
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return load_video_frames(path, frames, max_pixels)
    if suffix in IMAGE_SUFFIXES:
        return [MediaItem(image=load_image(path, max_pixels), source=str(path))]
    try:
        image = load_image(path, max_pixels)
    except _UnidentifiedError as exc:
        supported = " ".join(sorted(MEDIA_SUFFIXES))
        raise InputError(f"{path}: unsupported file type '{path.suffix or '(none)'}'; supported: {supported}") from exc
    return [MediaItem(image=image, source=str(path))]


def _os_reason(exc: OSError) -> str:
    """An OS error's reason without the file name Python repeats in ``str(exc)``."""
    return exc.strerror if exc.strerror else _short(exc)


def _short(exc: BaseException) -> str:
    """Decoder messages alone, bounded (they can be multi-line or very long)."""
    return one_line(exc, limit=_REASON_MAX, bare=(BaseException,))
