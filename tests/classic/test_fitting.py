"""Fitting the learned detector is reproducible: the same tiny kit gives the same model file, byte for byte."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from forensic_classic import photokit
from forensic_classic.fitting import fit_model, kit_features, write_model
from forensic_classic.learned import LearnedModel

pytest.importorskip("sklearn")
skimage_data = pytest.importorskip("skimage.data")


def tiny_kit(folder: Path) -> list[dict[str, str]]:
    photos = [
        photokit._downscale(photokit.Photo(name, "fit", getattr(skimage_data, name)()), 96)
        for name in ("chelsea", "coffee", "rocket")
    ]
    written = photokit.write_kit(folder, photokit.generate(photos, seed=0, methods=("splice", "colour")))
    return photokit.read_manifest(written["kit"])


def fit(folder: Path, rows: list[dict[str, str]], cache: Path | None, out: Path) -> str:
    features = kit_features(folder, rows, cache)
    labels = np.array([row["label"] == "fake" for row in rows], dtype=int)
    model = fit_model(features, labels, [row["source"] for row in rows], folds=3)
    write_model(model, out)
    return out.read_text(encoding="utf-8")


def test_refitting_writes_the_same_coefficients(tmp_path: Path) -> None:
    rows = tiny_kit(tmp_path / "kit")
    first = fit(tmp_path / "kit", rows, tmp_path / "cache.npz", tmp_path / "a.json")
    cached = fit(tmp_path / "kit", rows, tmp_path / "cache.npz", tmp_path / "b.json")
    # A kit generated again from scratch, features computed again without the cache.
    regenerated = fit(tmp_path / "again", tiny_kit(tmp_path / "again"), None, tmp_path / "c.json")
    assert first == cached == regenerated
    model = LearnedModel.load(tmp_path / "a.json")
    assert model.info["fit"]["images"] == len(rows) == 2 * model.info["fit"]["edited"]
    assert 0 < model.info["prior"] <= 0.5
