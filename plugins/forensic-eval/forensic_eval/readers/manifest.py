"""``manifest``: a CSV of ``path,label`` with optional ``mask,video,method,split`` columns.

Paths are relative to the CSV's folder (absolute paths are kept). Labels are ``real``/``fake`` or ``0``/``1``
with 1 = fake. A video file with no ``video`` value is keyed by its path relative to the CSV's folder.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forensic_core.datasets import Label, Sample
from forensic_core.errors import ConfigError
from forensic_eval.readers.common import Reader, video_key

if TYPE_CHECKING:
    from forensic_eval.plugin import ManifestSettings

LABELS: dict[str, Label] = {"real": "real", "fake": "fake", "0": "real", "1": "fake"}
COLUMNS = ("path", "label", "mask", "video", "method", "split")


class ManifestReader(Reader):
    name = "manifest"

    def __init__(self, csv_path: Path, frames: int | None = None) -> None:
        super().__init__(frames)
        self.csv_path = csv_path

    def samples(self) -> Iterator[Sample]:
        base = self.csv_path.resolve().parent
        try:
            handle = self.csv_path.open(newline="", encoding="utf-8-sig")
        except OSError as exc:
            raise ConfigError(f"{self.csv_path}: cannot read manifest ({exc.strerror or exc})") from exc
        with handle:
            reader = csv.DictReader(handle)
            header = [name.strip() for name in reader.fieldnames or []]
            missing = [name for name in ("path", "label") if name not in header]
            if missing:
                raise ConfigError(
                    f"{self.csv_path}: manifest lacks column(s) {', '.join(missing)}; "
                    f"the header must name path,label and optionally {','.join(COLUMNS[2:])}"
                )
            unknown = [name for name in header if name not in COLUMNS]
            if unknown:
                raise ConfigError(
                    f"{self.csv_path}: unknown manifest column(s) {', '.join(unknown)}; allowed: {','.join(COLUMNS)}"
                )
            for line, row in enumerate(reader, start=2):
                yield self._sample({k.strip(): (v or "").strip() for k, v in row.items() if k}, base, line)

    def _sample(self, row: dict[str, Any], base: Path, line: int) -> Sample:
        where = f"{self.csv_path}:{line}"
        label = LABELS.get(row["label"].lower())
        if label is None:
            raise ConfigError(f"{where}: label {row['label']!r} is not real, fake, 0 or 1 (1 = fake)")
        if not row["path"]:
            raise ConfigError(f"{where}: empty path")
        path = base / row["path"]
        if not path.is_file():
            raise ConfigError(f"{where}: {path} does not exist; paths are relative to the manifest's folder")
        mask = None
        if row.get("mask"):
            mask_path = base / row["mask"]
            if not mask_path.is_file():
                raise ConfigError(f"{where}: mask {mask_path} does not exist")
            mask = str(mask_path.resolve())
        resolved = path.resolve()
        video = row.get("video") or (
            video_key(resolved, base) if resolved.is_relative_to(base) else video_key(resolved, Path(resolved.anchor))
        )
        return Sample(
            path=str(resolved),
            label=label,
            mask=mask,
            video=video,
            method=row.get("method") or None,
            split=row.get("split") or None,
        )


def build(settings: ManifestSettings, context: object = None) -> ManifestReader:
    return ManifestReader(Path(settings.path), settings.frames)
