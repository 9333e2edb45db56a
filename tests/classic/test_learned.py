"""The learned detector: its shipped model loads and scores with numpy alone, fitting is reproducible, and it
scores generated edits above their pristine twins."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from forensic_classic import photokit
from forensic_classic.features import feature_names
from forensic_classic.learned import MODEL_FILE, LearnedModel, build_learned_detector
from forensic_classic.plugin import LearnedDetectorSettings
from forensic_core import MediaItem
from forensic_core.errors import ConfigError

skimage_data = pytest.importorskip("skimage.data")


def score(image: np.ndarray, **settings: object) -> float:
    detector = build_learned_detector(LearnedDetectorSettings(**settings), None)
    return detector.detect([MediaItem(image=image, source="x.jpg")])[0].score


def test_shipped_model_is_small_and_matches_the_features() -> None:
    assert MODEL_FILE.stat().st_size < 16_000
    model = LearnedModel.load()
    assert list(model.features) == feature_names(model.maps)
    assert model.info["held_out"]["images"] > 0


def test_probability_is_the_calibrated_logistic_of_the_linear_decision() -> None:
    model = LearnedModel.load()
    features = model.mean + model.scale  # every standardised feature = 1
    decision = float(model.coef.sum()) + model.intercept
    expected = 1 / (1 + np.exp(-(model.slope * decision + model.offset)))
    assert model.probability(features) == pytest.approx(expected, rel=1e-12)
    assert model.probability(model.mean) == pytest.approx(
        1 / (1 + np.exp(-(model.slope * model.intercept + model.offset)))
    )


def test_detector_scores_deterministically_and_explains_its_score() -> None:
    image = photokit.decode(photokit.jpeg(skimage_data.chelsea(), 85))
    detector = build_learned_detector(LearnedDetectorSettings(), None)
    first = detector.detect([MediaItem(image=image, source="x.jpg")])[0]
    again = build_learned_detector(LearnedDetectorSettings(), None).detect([MediaItem(image=image, source="x.jpg")])
    assert first.score == again[0].score
    assert first.details["calibrated"] is True
    assert len(first.details["top_features"]) == 5
    assert first.details["operating_point"]["fpr_at_0.5"] <= 1


def test_a_model_file_from_another_version_is_refused_with_the_fix(tmp_path: Path) -> None:
    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    data["features"] = data["features"][:-1]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"fit_classic\.py"):
        LearnedModel.load(path)
    with pytest.raises(ConfigError, match="cannot read"):
        LearnedModel.load(tmp_path / "missing.json")


def test_a_generated_splice_scores_above_its_twin() -> None:
    host = photokit.decode(photokit.jpeg(skimage_data.astronaut()[::2, ::2], 75))
    donor = skimage_data.coffee()[::2, ::2]
    ctx = photokit.Context(donors=[donor], faces=[])
    edited, _mask, _ = photokit.splice(host, np.random.default_rng(1), ctx)
    forged = photokit.decode(photokit.jpeg(edited, 92))
    twin = photokit.decode(photokit.jpeg(host, 92))
    assert score(forged) > score(twin)
