"""``folder``: ``real/`` and ``fake/`` sub-folders, with optional ``masks/`` mirroring ``fake/``.

A fake under ``fake/<method>/...`` gets ``<method>`` as its method (one level of sub-folder). Its mask is the file
of the same relative path under ``masks/``, with any image suffix.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from forensic_core.datasets import Sample
from forensic_core.media import IMAGE_SUFFIXES
from forensic_eval.readers.common import Reader, existing_dir, media_files, video_key

if TYPE_CHECKING:
    from forensic_eval.plugin import FolderSettings


class FolderReader(Reader):
    name = "folder"

    def __init__(self, root: Path, frames: int | None = None) -> None:
        super().__init__(frames)
        self.root = existing_dir(root, "dataset folder", "give the folder that holds real/ and fake/")
        if not (self.root / "real").is_dir() and not (self.root / "fake").is_dir():
            existing_dir(self.root / "real", "real/ (and fake/) sub-folder", "a folder dataset has real/ and fake/")

    def samples(self) -> Iterator[Sample]:
        for path in media_files(self.root / "real"):
            yield Sample(path=str(path), label="real", video=video_key(path, self.root))
        fakes = self.root / "fake"
        for path in media_files(fakes):
            relative = path.relative_to(fakes)
            yield Sample(
                path=str(path),
                label="fake",
                mask=self._mask(relative),
                video=video_key(path, self.root),
                method=relative.parts[0] if len(relative.parts) > 1 else None,
            )

    def _mask(self, relative: Path) -> str | None:
        base = self.root / "masks" / relative
        for candidate in (base, *(base.with_suffix(s) for s in sorted(IMAGE_SUFFIXES))):
            if candidate.is_file() and candidate.suffix.lower() in IMAGE_SUFFIXES:
                return str(candidate)
        return None


def build(settings: FolderSettings, context: object = None) -> FolderReader:
    return FolderReader(Path(settings.root), settings.frames)
