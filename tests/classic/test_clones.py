"""The copy-move trace counts block pairs at one displacement: high for a copied region, low for its source."""

from __future__ import annotations

import numpy as np
import pytest

from forensic_classic.clones import clone_statistics

skimage_data = pytest.importorskip("skimage.data")


def test_a_copied_region_gives_many_pairs_at_one_displacement() -> None:
    image = skimage_data.chelsea()[:160, :240].copy()
    moved = image.copy()
    moved[20:70, 140:200] = image[90:140, 30:90]
    assert clone_statistics(moved)[0] > clone_statistics(image)[0] + 2.0


def test_flat_or_tiny_images_have_no_trace() -> None:
    assert clone_statistics(np.full((64, 64, 3), 128, dtype=np.uint8)) == [0.0, 0.0]
    assert clone_statistics(np.zeros((6, 6, 3), dtype=np.uint8)) == [0.0, 0.0]
