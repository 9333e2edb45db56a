"""The example plugin passes the core's contract suites and does what its docs say."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from forensic_core import Detection, MediaItem
from forensic_core.testing import DetectorContract, ExplainerContract, build_component
from forensic_example import plugin


def spec_named(hook, name):
    return next(spec for spec in hook() if spec.name == name)


class RedQuadrantDetector:
    """Scores the redness of the top-left quadrant: its evidence location is known."""

    def detect(self, items):
        out = []
        for item in items:
            h, w = item.height // 2, item.width // 2
            quadrant = item.image[:h, :w].astype(float)
            out.append(
                Detection.from_score(float(np.clip((quadrant[..., 0] - quadrant[..., 1:].mean(-1)).mean() / 255, 0, 1)))
            )
        return out


class TestExifContract(DetectorContract):
    @pytest.fixture
    def spec(self):
        return spec_named(plugin.forensic_register_detectors, "exif")

    @pytest.fixture
    def registration_module(self):
        return "forensic_example.plugin"


class TestOcclusionContract(ExplainerContract):
    @pytest.fixture
    def spec(self):
        return spec_named(plugin.forensic_register_explainers, "occlusion")

    @pytest.fixture
    def detector(self):
        return RedQuadrantDetector()

    @pytest.fixture
    def registration_module(self):
        return "forensic_example.plugin"


def save_with_exif(path, **tags):
    exif = Image.Exif()
    for tag, value in tags.items():
        exif[{"software": 0x0131, "make": 0x010F, "model": 0x0110}[tag]] = value
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(path, exif=exif)
    return MediaItem(np.zeros((8, 8, 3), np.uint8), str(path))


def test_exif_scores_editors_cameras_and_unknowns(tmp_path):
    spec = spec_named(plugin.forensic_register_detectors, "exif")
    detector = build_component(spec)
    edited = save_with_exif(tmp_path / "e.jpg", software="Adobe Photoshop 25.0")
    camera = save_with_exif(tmp_path / "c.jpg", make="Canon", model="EOS R5")
    bare = save_with_exif(tmp_path / "b.jpg")
    scores = [d.score for d in detector.detect([edited, camera, bare])]
    assert scores == [0.85, 0.2, 0.4]
    assert detector.detect([edited])[0].details["reason"] == "edited with Adobe Photoshop 25.0"


def test_occlusion_points_at_the_evidence():
    spec = spec_named(plugin.forensic_register_explainers, "occlusion")
    explainer = build_component(spec, spec.settings(grid=4))
    image = np.full((64, 64, 3), 100, np.uint8)
    image[:32, :32, 0] = 250
    [explanation] = explainer.explain([MediaItem(image, "x.png")], detector=RedQuadrantDetector(), detections=None)
    heat = explanation.maps["occlusion"]
    assert heat.shape == (4, 4)
    assert heat[:2, :2].min() > 0.5 and heat[2:, :].max() == 0 and heat[:, 2:].max() == 0


def test_occlusion_without_detector_is_a_clear_error():
    from forensic_core import ComponentError

    explainer = build_component(spec_named(plugin.forensic_register_explainers, "occlusion"))
    with pytest.raises(ComponentError, match="pipeline has none"):
        explainer.explain([MediaItem(np.zeros((8, 8, 3), np.uint8), "x")], detector=None, detections=None)


def test_the_declared_api_range_holds_this_host():
    from forensic_core import API_VERSION
    from forensic_core.api import check_api_range

    assert check_api_range(plugin.forensic_api, "forensic-example-plugin") == ">=1.2,<2"
    assert API_VERSION.startswith("1.")
