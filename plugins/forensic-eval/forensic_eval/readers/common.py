"""What the readers share: path checks, media suffixes and the reader base class."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from forensic_core.datasets import Sample
from forensic_core.errors import ConfigError
from forensic_core.media import IMAGE_SUFFIXES, VIDEO_SUFFIXES

MEDIA = IMAGE_SUFFIXES | VIDEO_SUFFIXES


class Reader:
    """Base of the first-party readers.

    ``frames`` is how many frames the reader asks to be sampled per video (None: the pipeline's ``video.frames``);
    ``forensic eval`` applies it to the pipeline, since a Sample names a whole video, not its frames.
    """

    name = "dataset"

    def __init__(self, frames: int | None = None) -> None:
        self.frames = frames

    def samples(self) -> Iterator[Sample]:
        raise NotImplementedError


def existing_dir(path: Path, what: str, hint: str) -> Path:
    """``path`` resolved, or a one-line error naming it and what to do."""
    if not path.is_dir():
        raise ConfigError(f"{path}: {what} not found; {hint}")
    return path.resolve()


def media_files(directory: Path, suffixes: frozenset[str] = MEDIA) -> list[Path]:
    """Media files under ``directory`` (recursively), sorted by relative path so the order is deterministic."""
    if not directory.is_dir():
        return []
    found = [p for p in directory.rglob("*") if p.is_file() and p.suffix.lower() in suffixes]
    return sorted(found, key=lambda p: p.relative_to(directory).as_posix())


def video_key(path: Path, root: Path) -> str | None:
    """The key of a video: its path relative to the dataset root (POSIX); None for still images."""
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        return None
    return path.relative_to(root).as_posix()
