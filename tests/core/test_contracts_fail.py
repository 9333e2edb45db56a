"""The contract suites fail when a component is wrong, not only when it crashes (issue 21)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from forensic_core import Box, ComponentSettings, ComponentSpec, Detection, Explanation, Face, Figure, Findings, Message
from forensic_core.testing import (
    ASTRONAUT_FACE,
    DetectorContract,
    DialogContract,
    ExplainerContract,
    FaceDetectorContract,
    astronaut_photo,
    random_items,
)


class ConstantBackend:
    """Says the same thing whatever the findings."""

    def reply(self, findings, conversation):
        return Message("assistant", "It is hard to say.")


class EmptyBackend:
    def reply(self, findings, conversation):
        return iter(())


class VerdictBackend:
    def reply(self, findings, conversation):
        detection = next(iter(findings.detections.values()))
        yield f"{detection.label} at {detection.score:.2f}"


def test_a_backend_that_ignores_the_findings_fails():
    with pytest.raises(AssertionError, match="same answer"):
        DialogContract().test_answer_depends_on_the_findings(ConstantBackend())
    DialogContract().test_answer_depends_on_the_findings(VerdictBackend())


def test_the_session_test_does_not_accept_the_cores_text_for_an_empty_reply():
    findings = Findings(source="x.png", detections={"d": Detection.from_score(0.9)}, localizations={})
    with pytest.raises(AssertionError, match="no text"):
        DialogContract().test_session_answer_cites_the_verdict(EmptyBackend(), findings)
    DialogContract().test_session_answer_cites_the_verdict(VerdictBackend(), findings)


class NoFaces:
    def detect_faces(self, image):
        return []


class WholeImage:
    def detect_faces(self, image):
        box = Box(0, 0, image.shape[1], image.shape[0])
        return [Face(box=box, crop_box=box, score=1.0)]


class Corner:
    def detect_faces(self, image):
        box = Box(400, 400, 500, 500)
        return [Face(box=box, crop_box=box, score=1.0)]


class Oracle:
    def detect_faces(self, image):
        return [Face(box=ASTRONAUT_FACE, crop_box=ASTRONAUT_FACE, score=1.0)]


@pytest.mark.parametrize("detector", [NoFaces(), WholeImage(), Corner()], ids=lambda d: type(d).__name__)
def test_a_face_detector_that_misses_the_face_fails(detector):
    with pytest.raises(AssertionError):
        FaceDetectorContract().test_finds_the_face_in_a_real_photo(detector, astronaut_photo())


def test_a_face_detector_that_finds_the_face_passes():
    FaceDetectorContract().test_finds_the_face_in_a_real_photo(Oracle(), astronaut_photo())


def test_without_scikit_image_the_face_suite_says_what_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_skimage(name, *args, **kwargs):
        if name.startswith("skimage"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_skimage)
    with pytest.raises(pytest.fail.Exception, match="install scikit-image"):
        astronaut_photo()


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


class BrokenFigure:
    def explain(self, items, *, detector, detections):
        return [Explanation(figures={"f": Figure(data=b"not a png", suffix=".png")}) for _ in items]


class OversizedMap:
    def explain(self, items, *, detector, detections):
        return [Explanation(maps={"m": np.zeros((item.height + 1, item.width), np.float32)}) for item in items]


class GoodExplainer:
    def explain(self, items, *, detector, detections):
        return [
            Explanation(
                maps={"m": np.full((item.height, item.width), 0.5, np.float32)},
                figures={"f": Figure(data=png(np.zeros((4, 4), np.uint8)), suffix=".png")},
            )
            for item in items
        ]


def test_an_undecodable_figure_fails():
    items = random_items()
    with pytest.raises(Exception):  # noqa: B017 - PIL's own error for data that is no image
        ExplainerContract().test_figures_decode_as_images(BrokenFigure(), items, None, None)
    ExplainerContract().test_figures_decode_as_images(GoodExplainer(), items, None, None)


def test_a_map_larger_than_the_item_fails():
    items = random_items()
    with pytest.raises(AssertionError, match="larger than"):
        ExplainerContract().test_maps_are_unit_range_images_of_the_item(OversizedMap(), items, None, None)
    ExplainerContract().test_maps_are_unit_range_images_of_the_item(GoodExplainer(), items, None, None)


class LightSettings(ComponentSettings):
    pass


class TestTheLazyImportCheckRunsWithoutTheFixture(DetectorContract):
    """A suite that names no ``registration_module`` still runs the check, on its settings model's module."""

    @pytest.fixture
    def spec(self):
        return ComponentSpec("mean", "mean", settings=LightSettings, factory=lambda s, ctx: MeanDetector())

    def test_the_default_is_the_settings_module(self, registration_module, spec):
        assert registration_module == spec.settings.__module__ == __name__


class MeanDetector:
    def detect(self, items):
        return [Detection.from_score(float(item.image.mean()) / 255) for item in items]
