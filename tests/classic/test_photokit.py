"""The photo kit: every manipulation's mask is where the image changed, twins share the saves, reruns are equal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from forensic_classic import photokit

skimage_data = pytest.importorskip("skimage.data")
pytest.importorskip("cv2")


def tiny_photos(side: int = 128) -> list[photokit.Photo]:
    photos = [
        photokit.Photo("chelsea", "fit", skimage_data.chelsea()),
        photokit.Photo("coffee", "fit", skimage_data.coffee()),
        photokit.Photo("astronaut", "held-out", skimage_data.astronaut(), photokit.FACES["astronaut"]),
        photokit.Photo("rocket", "held-out", skimage_data.rocket()),
    ]
    return [photokit._downscale(photo, side) for photo in photos]


def test_every_mask_covers_what_the_manipulation_changed() -> None:
    images = list(photokit.generate(tiny_photos(), seed=3))
    seen = set()
    for edited, twin in zip(images[::2], images[1::2], strict=True):
        assert twin.name == edited.name + "-twin" and twin.mask is None
        assert twin.history == edited.history and twin.source == edited.source
        mask = edited.mask
        assert mask is not None and mask.shape == photokit.decode(edited.data).shape[:2]
        assert 0.003 < mask.mean() < 0.3
        difference = np.abs(photokit.decode(edited.data).astype(float) - photokit.decode(twin.data)).mean(axis=2)
        assert difference[mask].mean() > 3 * difference[~mask].mean() + 1.0, (edited.name, edited.method)
        seen.add(edited.method)
    assert seen == set(photokit.METHODS)


def test_each_method_has_a_single_and_a_double_jpeg_version() -> None:
    images = [image for image in photokit.generate(tiny_photos(), seed=0) if image.mask is not None]
    for method in photokit.METHODS:
        lengths = {len(image.history) for image in images if image.method == method}
        assert lengths == {1, 2}, method


def test_written_kit_has_manifests_per_split_and_masks_on_disk(tmp_path: Path) -> None:
    written = photokit.write_kit(tmp_path, photokit.generate(tiny_photos(), seed=0, methods=("splice", "colour")))
    rows = photokit.read_manifest(written["kit"])
    assert {row["split"] for row in rows} == {"fit", "held-out"}
    for split in photokit.SPLITS:
        part = photokit.read_manifest(written[split])
        assert part and all(row["split"] == split for row in part)
        assert set(part[0]) == set(photokit.MANIFEST_COLUMNS)
    for row in rows:
        assert (tmp_path / row["path"]).is_file()
        assert bool(row["mask"]) == (row["label"] == "fake") == bool(row["method"])
        assert not row["mask"] or (tmp_path / row["mask"]).is_file()
    # Split by source: no photo is in both halves.
    by_split = {split: {row["source"] for row in rows if row["split"] == split} for split in photokit.SPLITS}
    assert not by_split["fit"] & by_split["held-out"]


def test_the_same_seed_gives_the_same_kit() -> None:
    first = [(image.name, image.data) for image in photokit.generate(tiny_photos(96), seed=5, methods=("resample",))]
    again = [(image.name, image.data) for image in photokit.generate(tiny_photos(96), seed=5, methods=("resample",))]
    assert first == again
