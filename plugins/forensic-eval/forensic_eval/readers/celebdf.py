"""``celebdf``: Celeb-DF (v2) in its release layout.

    Celeb-real/id0_0000.mp4, YouTube-real/00000.mp4      real
    Celeb-synthesis/id0_id1_0000.mp4                     fake
    List_of_testing_videos.txt                           "<flag> <folder>/<file>" per line, flag 1 = REAL

The test list's flag is inverted with respect to the usual 1 = fake, so it is read as 1 = real, and a listed
video whose flag disagrees with its folder is an error (a corrupt list or a mislabelled copy). ``test`` is the
listed videos, ``train`` every other video, ``all`` both. Celeb-DF defines no validation split.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from forensic_core.datasets import Label, Sample
from forensic_core.errors import ConfigError
from forensic_core.media import VIDEO_SUFFIXES
from forensic_eval.readers.common import Reader, existing_dir, media_files

if TYPE_CHECKING:
    from forensic_eval.plugin import CelebDfSettings

FOLDERS: dict[str, Label] = {"Celeb-real": "real", "YouTube-real": "real", "Celeb-synthesis": "fake"}
TEST_LIST = "List_of_testing_videos.txt"


class CelebDfReader(Reader):
    name = "celebdf"

    def __init__(self, root: Path, split: str = "test", frames: int | None = None) -> None:
        super().__init__(frames)
        if split not in ("train", "test", "all"):
            raise ConfigError(f"celebdf: split {split!r}: Celeb-DF has only train, test (or all)")
        self.root = existing_dir(root, "Celeb-DF root", "give the folder holding Celeb-real/ and Celeb-synthesis/")
        self.split = split

    def test_list(self) -> dict[str, Label]:
        """The listed test videos with their labels (flag 1 = real, 0 = fake)."""
        path = self.root / TEST_LIST
        if not path.is_file():
            raise ConfigError(f"{path}: not found; it ships with Celeb-DF and defines the test split")
        listed: dict[str, Label] = {}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 2 or parts[0] not in ("0", "1"):
                raise ConfigError(f"{path}:{number}: expected '<0|1> <folder>/<file>', got {line.strip()!r}")
            listed[parts[1]] = "real" if parts[0] == "1" else "fake"
        return listed

    def samples(self) -> Iterator[Sample]:
        listed = self.test_list()
        for folder, label in FOLDERS.items():
            for path in media_files(self.root / folder, VIDEO_SUFFIXES):
                key = path.relative_to(self.root).as_posix()
                in_test = key in listed
                if in_test and listed[key] != label:
                    raise ConfigError(
                        f"{self.root / TEST_LIST}: {key} is listed as {listed[key]} (1 = real) but lies in {folder}/"
                    )
                if (self.split == "test" and not in_test) or (self.split == "train" and in_test):
                    continue
                yield Sample(
                    str(path),
                    label,
                    video=key,
                    method="Celeb-synthesis" if label == "fake" else None,
                    split="test" if in_test else "train",
                )


def build(settings: CelebDfSettings, context: object = None) -> CelebDfReader:
    return CelebDfReader(Path(settings.root), settings.split, settings.frames)
