"""``ffpp``: FaceForensics++ in its download layout.

    original_sequences/youtube/<c>/videos/071.mp4                      real
    manipulated_sequences/<method>/<c>/videos/071_054.mp4              fake (target 071, source 054)
    manipulated_sequences/<method>/masks/videos/071_054.mp4            optional mask video
    splits/{train,val,test}.json                                       official pairs [["071", "054"], ...]

Every video is keyed by its path relative to the root, so ``071_054.mp4`` under Deepfakes and under FaceSwap
are two videos (DeepfakeBench keys by folder name and merges them). A split keeps the reals whose id is in one
of its pairs and the fakes named after either ordering of a pair. FF++ masks are videos, not images: the mask
video's absolute path goes in the sample's ``meta["mask_video"]``, and ``mask`` stays None.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from forensic_core.datasets import Sample
from forensic_core.errors import ConfigError
from forensic_core.media import VIDEO_SUFFIXES
from forensic_eval.readers.common import Reader, existing_dir, media_files

if TYPE_CHECKING:
    from forensic_eval.plugin import FfppSettings

SPLITS = ("train", "val", "test")


class FfppReader(Reader):
    name = "ffpp"

    def __init__(
        self,
        root: Path,
        compression: str = "c23",
        methods: tuple[str, ...] | None = None,
        split: str = "test",
        frames: int | None = None,
    ) -> None:
        super().__init__(frames)
        self.root = existing_dir(root, "FaceForensics++ root", "give the folder holding original_sequences/")
        self.compression = compression
        self.split = split
        present = self.present_methods()
        if methods is None:
            self.methods = present
        else:
            absent = [m for m in methods if m not in present]
            if absent:
                raise ConfigError(
                    f"{self.root}: method(s) {', '.join(absent)} not found at compression {compression}; "
                    f"present: {', '.join(present) or 'none'}"
                )
            self.methods = tuple(methods)
        self.reals_dir = self.root / "original_sequences" / "youtube" / compression / "videos"
        if not self.reals_dir.is_dir():
            raise ConfigError(f"{self.reals_dir}: not found; is {compression!r} the compression you downloaded?")

    def present_methods(self) -> tuple[str, ...]:
        base = self.root / "manipulated_sequences"
        if not base.is_dir():
            return ()
        return tuple(sorted(d.name for d in base.iterdir() if (d / self.compression / "videos").is_dir()))

    def _pairs(self) -> list[tuple[str, str]] | None:
        if self.split == "all":
            return None
        for candidate in (self.root / "splits" / f"{self.split}.json", self.root / f"{self.split}.json"):
            if candidate.is_file():
                try:
                    pairs = json.loads(candidate.read_text(encoding="utf-8"))
                    return [(str(a), str(b)) for a, b in pairs]
                except (ValueError, TypeError) as exc:
                    raise ConfigError(f"{candidate}: not an FF++ split file (a JSON list of id pairs)") from exc
        raise ConfigError(
            f"{self.root}: no splits/{self.split}.json; copy the official split files (train/val/test.json) "
            "into <root>/splits/ or use split: all"
        )

    def samples(self) -> Iterator[Sample]:
        pairs = self._pairs()
        ids = None if pairs is None else {i for pair in pairs for i in pair}
        names = None if pairs is None else {f"{a}_{b}" for a, b in pairs} | {f"{b}_{a}" for a, b in pairs}
        split = None if self.split == "all" else self.split
        for path in media_files(self.reals_dir, VIDEO_SUFFIXES):
            if ids is None or path.stem in ids:
                yield Sample(str(path), "real", video=path.relative_to(self.root).as_posix(), split=split)
        for method in self.methods:
            base = self.root / "manipulated_sequences" / method
            for path in media_files(base / self.compression / "videos", VIDEO_SUFFIXES):
                if names is not None and path.stem not in names:
                    continue
                mask = base / "masks" / "videos" / path.name
                yield Sample(
                    str(path),
                    "fake",
                    video=path.relative_to(self.root).as_posix(),
                    method=method,
                    split=split,
                    meta={"mask_video": str(mask)} if mask.is_file() else {},
                )


def build(settings: FfppSettings, context: object = None) -> FfppReader:
    return FfppReader(
        Path(settings.root),
        settings.compression,
        tuple(settings.methods) if settings.methods is not None else None,
        settings.split,
        settings.frames,
    )
