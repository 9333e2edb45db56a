"""``dfdc``: DFDC parts (``dfdc_train_part_N/metadata.json``) and DFDC-preview (``dataset.json``).

Each part's ``metadata.json`` maps a file name to ``{"label": "REAL"|"FAKE", "split": ..., "original": ...}``;
the preview's ``dataset.json`` maps a path relative to the root to ``{"label": "real"|"fake", "set": ...}``.
Labels are taken from these files only. Videos are keyed by their path relative to the root.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forensic_core.datasets import Label, Sample
from forensic_core.errors import ConfigError
from forensic_eval.readers.common import Reader, existing_dir

if TYPE_CHECKING:
    from forensic_eval.plugin import DfdcSettings

LABELS: dict[str, Label] = {"real": "real", "fake": "fake"}


class DfdcReader(Reader):
    name = "dfdc"

    def __init__(
        self,
        root: Path,
        parts: tuple[str, ...] | None = None,
        split: str = "all",
        missing: str = "error",
        frames: int | None = None,
    ) -> None:
        super().__init__(frames)
        self.root = existing_dir(root, "DFDC root", "give the folder holding the dfdc_train_part_N/ folders")
        self.split = split
        self.missing = missing
        self.labels = self._label_files(parts)

    def _label_files(self, parts: tuple[str, ...] | None) -> list[Path]:
        if parts is not None:
            files = []
            for part in parts:
                path = self.root / part / "metadata.json"
                if not path.is_file():
                    raise ConfigError(f"{path}: not found; is {part!r} a DFDC part folder under {self.root}?")
                files.append(path)
            return files
        files = sorted(self.root.glob("*/metadata.json")) + sorted(self.root.glob("metadata.json"))
        files += sorted(self.root.glob("dataset.json"))
        if not files:
            raise ConfigError(f"{self.root}: no */metadata.json or dataset.json; is this a DFDC download?")
        return files

    def samples(self) -> Iterator[Sample]:
        for label_file in self.labels:
            try:
                entries: dict[str, Any] = json.loads(label_file.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise ConfigError(f"{label_file}: invalid JSON ({exc})") from exc
            base = self.root if label_file.name == "dataset.json" else label_file.parent
            for name in sorted(entries):
                entry = entries[name]
                label = LABELS.get(str(entry.get("label", "")).lower())
                if label is None:
                    raise ConfigError(f"{label_file}: {name}: label {entry.get('label')!r} is not REAL or FAKE")
                split = entry.get("split") or entry.get("set")
                if self.split != "all" and split != self.split:
                    continue
                path = base / name
                if not path.is_file():
                    if self.missing == "skip":
                        continue
                    raise ConfigError(f"{label_file}: {path} is listed but missing; re-download or set missing: skip")
                meta = {"original": entry["original"]} if entry.get("original") else {}
                yield Sample(str(path), label, video=path.relative_to(self.root).as_posix(), split=split, meta=meta)


def build(settings: DfdcSettings, context: object = None) -> DfdcReader:
    return DfdcReader(
        Path(settings.root),
        tuple(settings.parts) if settings.parts is not None else None,
        settings.split,
        settings.missing,
        settings.frames,
    )
