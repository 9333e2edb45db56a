"""Writing arrays and figures beside the report, referenced by relative paths."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np

from forensic_core.imaging import encode, fit_size, to_uint8
from forensic_core.report import FigureRecord
from forensic_core.results import Figure

PREVIEW_LONGEST_SIDE = 1024


def safe_stem(text: str, limit: int = 40) -> str:
    """A file-name-safe stem (untrusted input names never become paths as they are)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-") or "item"
    return stem[:limit]


class ArtifactWriter:
    """Writes one input's files into ``outdir/artifacts/<key>-<name>/`` and returns paths relative to ``outdir``.

    ``key`` is the input's stable id (or its position, for callers without one), so a resumed run never writes
    into an earlier input's folder. Every file's sha256 is recorded in :attr:`hashes` (chain of custody). With
    ``collect=True`` nothing touches the disk: the bytes are kept in :attr:`files` for a driver to write (a
    worker on another machine).
    """

    def __init__(self, outdir: Path, index: int | str, source: str, *, collect: bool = False) -> None:
        self.outdir = outdir
        key = f"{index:04d}" if isinstance(index, int) else safe_stem(index, 24)
        self.folder = outdir / "artifacts" / f"{key}-{safe_stem(Path(source).name)}"
        self.collect = collect
        self.hashes: dict[str, str] = {}
        self.files: dict[str, bytes] = {}
        self._used: set[str] = set()

    def _path(self, name: str, suffix: str) -> Path:
        if not self.collect:
            self.folder.mkdir(parents=True, exist_ok=True)
        base = safe_stem(name, 80)
        candidate, counter = base, 1
        while candidate + suffix in self._used:
            counter += 1
            candidate = f"{base}-{counter}"
        self._used.add(candidate + suffix)
        return self.folder / (candidate + suffix)

    def relative(self, path: Path) -> str:
        return path.relative_to(self.outdir).as_posix()

    def write_bytes(self, name: str, suffix: str, data: bytes) -> str:
        path = self._path(name, suffix)
        relative = self.relative(path)
        if self.collect:
            self.files[relative] = data
        else:
            path.write_bytes(data)
        self.hashes[relative] = hashlib.sha256(data).hexdigest()
        return relative

    def unit_map_png(self, name: str, unit_map: np.ndarray) -> str:
        """[0, 1] map -> 8-bit grayscale PNG at the map's own resolution (fast zlib level: maps can be 12 MP)."""
        return self.write_bytes(name, ".png", encode(to_uint8(unit_map), compress_level=1))

    def mask_png(self, name: str, mask: np.ndarray) -> str:
        """Binary mask -> 1-bit PNG (a tenth of the size and time of an 8-bit one)."""
        return self.write_bytes(name, ".png", encode(np.asarray(mask, dtype=bool), compress_level=1))

    def npy(self, name: str, array: np.ndarray) -> str:
        import io

        buffer = io.BytesIO()
        np.save(buffer, np.asarray(array))
        return self.write_bytes(name, ".npy", buffer.getvalue())

    def figure(self, name: str, figure: Figure) -> FigureRecord:
        return FigureRecord(path=self.write_bytes(name, figure.suffix, figure.data), caption=figure.caption or name)

    def preview(self, name: str, image: np.ndarray) -> str:
        """A downscaled JPEG of the analysed image for the HTML report."""
        from PIL import Image

        height, width = image.shape[:2]
        size = fit_size(width, height, PREVIEW_LONGEST_SIDE)
        small = (
            image
            if size == (width, height)
            else np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))
        )
        return self.write_bytes(name, ".jpg", encode(small, "JPEG"))
