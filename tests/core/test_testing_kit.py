"""The plugin authors' testing kit: test data that can catch batch bugs, and a real default detector."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from forensic_core import ComponentSpec, Detection, Explanation, MediaItem
from forensic_core.testing import DetectorContract, EdgeEnergyDetector, ExplainerContract, random_items


def flat_fraction(image: np.ndarray) -> float:
    """Share of pixels equal to their right and lower neighbours (solid areas)."""
    same_right = (image[:-1, :-1] == image[:-1, 1:]).all(axis=2)
    same_below = (image[:-1, :-1] == image[1:, :-1]).all(axis=2)
    return float((same_right & same_below).mean())


class FirstItemLeak:
    """A batch bug: features of the batch's first item are used for every item."""

    def detect(self, items: Sequence[MediaItem]) -> list[Detection]:
        return [Detection.from_score(flat_fraction(items[0].image)) for _ in items] if items else []


def noise_items(seed: int = 0) -> list[MediaItem]:
    """What random_items() used to return: uniform noise."""
    rng = np.random.default_rng(seed)
    return [
        MediaItem(rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8), f"noise-{i}.png")
        for i, (h, w) in enumerate(((48, 64), (64, 40)))
    ]


def test_random_items_hold_structure_not_only_noise():
    items = random_items()
    assert [item.image.shape for item in items] == [(48, 64, 3), (64, 40, 3)]
    for item in items:
        grey = item.image.astype(np.float64).mean(axis=2)
        steps = np.abs(np.diff(grey, axis=1))
        assert flat_fraction(item.image) > 0.08, "solid areas"
        assert steps.max() > 60, "sharp edges"
        assert (steps < 3).mean() > 0.6, "mostly smooth, unlike noise"
    means = [item.image.mean() for item in items]
    assert abs(means[0] - means[1]) > 10, "items differ from each other"


def test_random_items_are_deterministic_and_seeded():
    first, again, other = random_items(), random_items(), random_items(seed=1)
    assert all(np.array_equal(a.image, b.image) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0].image, other[0].image)
    assert [item.image.shape for item in random_items(((1, 1), (3, 2), (200, 7)))] == [
        (1, 1, 3),
        (3, 2, 3),
        (200, 7, 3),
    ]


def test_batch_equals_single_catches_a_batch_leak_that_noise_hides():
    suite = DetectorContract()
    leaky = FirstItemLeak()
    suite.test_detect_batch_equals_single(leaky, noise_items())  # noise: every item scores 0, the bug is hidden
    with pytest.raises(AssertionError):
        suite.test_detect_batch_equals_single(leaky, random_items())


def test_edge_energy_detector_is_a_deterministic_content_detector():
    detector = EdgeEnergyDetector()
    DetectorContract().test_detect_batch_equals_single(detector, random_items())
    flat = MediaItem(np.full((16, 16, 3), 90, np.uint8), "flat.png")
    edges = MediaItem(np.tile(np.array([0, 255], np.uint8).repeat(2), (16, 4))[..., None].repeat(3, 2), "edges.png")
    scores = [d.score for d in detector.detect([flat, edges, *random_items()])]
    assert scores[0] == 0.0 and scores[1] > 0.9 and 0.05 < min(scores[2:]) <= max(scores[2:]) < 0.9
    assert detector.detect([]) == []


class RecordingExplainer:
    def __init__(self) -> None:
        self.detectors: list[object] = []

    def explain(self, items, *, detector, detections):
        self.detectors.append(detector)
        assert detections is not None and len(detections) in (len(items), 1)
        return [Explanation(text=f"{d.score:.3f}") for d in detections]


class TestContractOnARecordingExplainer(ExplainerContract):
    """The explainer suite itself, run as a plugin author runs it, with no ``detector`` fixture of its own."""

    @pytest.fixture
    def spec(self):
        return ComponentSpec("recording", "records what it is handed", factory=lambda s, ctx: RecordingExplainer())

    def test_the_default_detector_is_real(self, component, items, detector, detections):
        assert isinstance(detector, EdgeEnergyDetector)
        assert [d.score for d in detections] == [EdgeEnergyDetector.score(item.image) for item in items]
        component.explain(items, detector=detector, detections=detections)
        assert component.detectors == [detector]
