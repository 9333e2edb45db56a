"""The contract suites, one per component kind (re-exported by :mod:`forensic_core.testing`; subclass them there).

Each suite fails when the component is wrong, not only when it crashes (see :mod:`forensic_core.testing`).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from forensic_core.components import ComponentSpec
from forensic_core.context import BuildContext
from forensic_core.results import Box, Detection, Explanation, Face, Findings, Localization, MediaItem, Message
from forensic_core.testing_data import (
    EdgeEnergyDetector,
    astronaut_photo,
    build_component,
    imported_heavy_modules,
    overlap,
    random_items,
)


class _ComponentContract:
    """Tests every component kind shares: settings model, spec, lazy registration."""

    @pytest.fixture
    def spec(self) -> ComponentSpec:
        raise NotImplementedError("contract subclasses must provide a 'spec' fixture")

    @pytest.fixture
    def settings(self, spec: ComponentSpec) -> Any:
        return spec.settings()

    @pytest.fixture
    def items(self) -> list[MediaItem]:
        return random_items()

    @pytest.fixture
    def registration_module(self, spec: ComponentSpec) -> str:
        """The module whose import must stay light; by default the one defining the settings model.

        The registration module imports its settings models, so that module is loaded by discovery and must be
        light too. Plugins written before this default keep passing without naming the fixture.
        """
        return spec.settings.__module__

    @pytest.fixture
    def context(self) -> Iterator[BuildContext]:
        ctx = BuildContext()
        yield ctx
        ctx.close()

    @pytest.fixture
    def component(self, spec: ComponentSpec, settings: Any, context: BuildContext) -> Any:
        return build_component(spec, settings, context)

    def test_spec_has_one_line_summary(self, spec: ComponentSpec) -> None:
        assert spec.summary.strip() and "\n" not in spec.summary

    def test_settings_reject_unknown_keys(self, spec: ComponentSpec) -> None:
        with pytest.raises(ValidationError):
            spec.settings.model_validate({"surely_not_a_setting": 1})

    def test_every_setting_is_documented(self, spec: ComponentSpec) -> None:
        undocumented = [name for name, f in spec.settings.model_fields.items() if not (f.description or "").strip()]
        assert not undocumented, f"settings without description: {undocumented}"

    def test_settings_round_trip_through_json(self, spec: ComponentSpec, settings: Any) -> None:
        assert spec.settings.model_validate_json(settings.model_dump_json()) == settings
        json.dumps(spec.settings.model_json_schema())

    def test_registration_module_does_not_import_heavy_libraries(self, registration_module: str) -> None:
        assert imported_heavy_modules(f"import {registration_module}") == []


class DetectorContract(_ComponentContract):
    """Contract for detectors: one Detection per item, in [0, 1], deterministic."""

    def test_detect_returns_one_detection_per_item(self, component: Any, items: list[MediaItem]) -> None:
        results = component.detect(items)
        assert len(results) == len(items)
        assert all(isinstance(r, Detection) and 0.0 <= r.score <= 1.0 for r in results)

    def test_detect_is_deterministic(self, component: Any, items: list[MediaItem]) -> None:
        first = [r.score for r in component.detect(items)]
        second = [r.score for r in component.detect(items)]
        np.testing.assert_allclose(first, second, rtol=0, atol=1e-6)

    def test_detect_batch_equals_single(self, component: Any, items: list[MediaItem]) -> None:
        batch = [r.score for r in component.detect(items)]
        single = [component.detect([item])[0].score for item in items]
        np.testing.assert_allclose(batch, single, rtol=0, atol=1e-4)

    def test_detect_empty_batch(self, component: Any) -> None:
        assert list(component.detect([])) == []

    def test_details_are_json_serialisable(self, component: Any, items: list[MediaItem]) -> None:
        for result in component.detect(items[:1]):
            json.dumps(dict(result.details))


class LocalizerContract(_ComponentContract):
    """Contract for localizers: float heatmaps in [0, 1] at each item's exact resolution."""

    def test_heatmaps_match_item_resolution(self, component: Any, items: list[MediaItem]) -> None:
        results = component.localize(items)
        assert len(results) == len(items)
        for result, item in zip(results, items, strict=True):
            assert isinstance(result, Localization)
            assert result.heatmap.shape == (item.height, item.width)
            assert np.issubdtype(result.heatmap.dtype, np.floating)

    def test_localize_is_deterministic(self, component: Any, items: list[MediaItem]) -> None:
        first = component.localize(items)
        second = component.localize(items)
        for a, b in zip(first, second, strict=True):
            np.testing.assert_allclose(a.heatmap, b.heatmap, rtol=0, atol=1e-5)

    def test_localize_empty_batch(self, component: Any) -> None:
        assert list(component.localize([])) == []


class ExplainerContract(_ComponentContract):
    """Contract for explainers: one Explanation per item with maps in [0, 1] and decodable figures.

    The ``detector`` the explainer is pointed at defaults to :class:`EdgeEnergyDetector`, a real detector whose
    decision depends on the image; override the fixture with the detector your explainer needs (one with a
    ``vision_target`` for attention explainers), or with None to test the no-detector path.
    """

    @pytest.fixture
    def detector(self) -> Any:
        return EdgeEnergyDetector()

    @pytest.fixture
    def detections(self, detector: Any, items: list[MediaItem]) -> list[Detection] | None:
        return None if detector is None else detector.detect(items)

    def test_explain_returns_one_explanation_per_item(
        self, component: Any, items: list[MediaItem], detector: Any, detections: Any
    ) -> None:
        results = component.explain(items, detector=detector, detections=detections)
        assert len(results) == len(items)
        assert all(isinstance(r, Explanation) for r in results)

    def test_figures_decode_as_images(
        self, component: Any, items: list[MediaItem], detector: Any, detections: Any
    ) -> None:
        """Every image figure decodes (by its content, not its suffix) to a picture of positive size."""
        from PIL import Image

        first_detections = detections[:1] if detections else None
        for result in component.explain(items[:1], detector=detector, detections=first_detections):
            for name, figure in result.figures.items():
                if figure.suffix.lower() not in (".png", ".jpg", ".jpeg", ".gif", ".webp"):
                    continue
                assert figure.data, f"figure {name!r} is empty"
                with Image.open(io.BytesIO(figure.data)) as img:
                    img.load()
                    assert img.width > 0 and img.height > 0, f"figure {name!r} is {img.size}"

    def test_maps_are_unit_range_images_of_the_item(
        self, component: Any, items: list[MediaItem], detector: Any, detections: Any
    ) -> None:
        """Explanation maps are finite 2-D float arrays in [0, 1], of positive size and at most the item's
        resolution (the report scales them onto the image; a coarse grid, like an occlusion's, is allowed)."""
        results = component.explain(items, detector=detector, detections=detections)
        for result, item in zip(results, items, strict=True):
            for name, heatmap in result.maps.items():
                heatmap = np.asarray(heatmap)
                assert heatmap.ndim == 2 and heatmap.size > 0, f"map {name!r} has shape {heatmap.shape}"
                assert heatmap.shape[0] <= item.height and heatmap.shape[1] <= item.width, (
                    f"map {name!r} is {heatmap.shape}, larger than the {item.height}x{item.width} item"
                )
                assert np.issubdtype(heatmap.dtype, np.floating), f"map {name!r} is {heatmap.dtype}"
                assert np.isfinite(heatmap).all(), f"map {name!r} has NaN or inf"
                assert heatmap.min() >= 0.0 and heatmap.max() <= 1.0, f"map {name!r} leaves [0, 1]"


class FaceDetectorContract(_ComponentContract):
    """Contract for face detectors: the face in a real photo found, faces inside the image, crop boxes containing
    face boxes, regions named.

    ``face_photo`` (default: :func:`astronaut_photo`) is an RGB photo with one face and that face's box; a box
    found must cover at least a quarter of it and span less than half the photo (a detector that calls the whole
    image a face fails).
    """

    @pytest.fixture
    def face_image(self, items: list[MediaItem]) -> np.ndarray:
        return items[0].image

    @pytest.fixture
    def face_photo(self) -> tuple[np.ndarray, Box]:
        return astronaut_photo()

    def test_finds_the_face_in_a_real_photo(self, component: Any, face_photo: tuple[np.ndarray, Box]) -> None:
        image, expected = face_photo
        height, width = image.shape[:2]
        faces = component.detect_faces(image)
        assert faces, f"no face found in the {width}x{height} photo (its face is at {expected})"
        best = max(faces, key=lambda face: overlap(face.box, expected))
        box = best.box
        assert overlap(box, expected) >= 0.25, f"no face box covers the face at {expected}: best is {box}"
        assert (box.x1 - box.x0) * (box.y1 - box.y0) < 0.5 * width * height, f"{box} is most of the photo"

    def test_faces_lie_inside_the_image(self, component: Any, face_image: np.ndarray) -> None:
        height, width = face_image.shape[:2]
        for face in component.detect_faces(face_image):
            assert isinstance(face, Face)
            for box in (face.box, face.crop_box):
                assert 0 <= box.x0 < box.x1 <= width and 0 <= box.y0 < box.y1 <= height
            assert face.crop_box.x0 <= face.box.x0 and face.crop_box.x1 >= face.box.x1
            assert face.crop_box.y0 <= face.box.y0 and face.crop_box.y1 >= face.box.y1
            for name, polygon in face.regions.items():
                assert np.asarray(polygon).ndim == 2 and np.asarray(polygon).shape[1] == 2, name

    def test_detect_faces_is_deterministic(self, component: Any, face_image: np.ndarray) -> None:
        first = [f.box for f in component.detect_faces(face_image)]
        assert first == [f.box for f in component.detect_faces(face_image)]


class DialogContract(_ComponentContract):
    """Contract for dialog backends (:class:`forensic_core.protocols.DialogBackend`).

    ``reply(findings, conversation)`` answers a conversation that starts with the session's evidence system
    message and ends with the user's question: an iterable of text chunks (streamed) or one assistant
    :class:`Message`, joined into non-empty text. ``accepts_embeddings`` (optional) is a bool. Driven by a
    :class:`~forensic_core.dialog.DialogSession`, an answer is recorded with the evidence it cites (the verdict's
    detection first) and the backend's name. Override the ``findings`` fixture to change what is asked about.
    """

    @pytest.fixture
    def findings(self) -> Findings:
        return Findings(source="x.png", detections={"d": Detection.from_score(0.9)}, localizations={})

    @staticmethod
    def joined(reply: Any) -> str:
        if isinstance(reply, Message):
            assert reply.role == "assistant"
            return reply.content
        if isinstance(reply, str):
            return reply
        chunks = list(reply)
        assert all(isinstance(chunk, str) for chunk in chunks), chunks
        return "".join(chunks)

    @staticmethod
    def answer_about(component: Any, findings: Findings, question: str) -> str:
        """The backend's own answer to ``question`` about ``findings`` (no session: nothing added by the core)."""
        from forensic_core.dialog import cite_findings, evidence_prompt

        conversation = [Message("system", evidence_prompt(cite_findings(findings))), Message("user", question)]
        return DialogContract.joined(component.reply(findings, conversation))

    def test_reply_streams_a_non_empty_answer(self, component: Any, findings: Findings) -> None:
        assert self.answer_about(component, findings, "Is it fake?").strip()

    def test_answer_depends_on_the_findings(self, component: Any) -> None:
        """The same question about a clearly fake and a clearly real input gets different answers from the
        backend itself: a backend that ignores the findings fails."""
        question = "Is this image a deepfake?"
        fake = Findings(source="x.png", detections={"d": Detection.from_score(0.97)}, localizations={})
        real = Findings(source="x.png", detections={"d": Detection.from_score(0.03)}, localizations={})
        fake_answer = self.answer_about(component, fake, question).strip()
        real_answer = self.answer_about(component, real, question).strip()
        assert fake_answer and real_answer
        assert fake_answer != real_answer, f"the same answer for a fake and a real input: {fake_answer!r}"

    def test_accepts_embeddings_is_a_bool_when_declared(self, component: Any) -> None:
        """``accepts_embeddings`` is optional (API 1.1): declared, it is a bool; absent, the host takes False."""
        from forensic_core.api import member

        declared = getattr(component, "accepts_embeddings", None)
        assert declared is None or isinstance(declared, bool), f"accepts_embeddings is {declared!r}"
        assert isinstance(member(component, "accepts_embeddings", "dialog"), bool)

    def test_session_answer_cites_the_verdict(self, component: Any, findings: Findings) -> None:
        from forensic_core.dialog import DialogSession

        recorder = _RecordingBackend(component)
        session = DialogSession(findings, recorder, backend_name="under-test")
        answer = session.ask("Is this image a deepfake?")
        assert answer.role == "assistant" and answer.backend == "under-test"
        own = recorder.texts[0].strip()
        assert own, "the backend returned no text"
        assert answer.content.startswith(own), "the recorded answer is not the backend's"
        first = next(iter(findings.detections))
        assert answer.evidence and answer.evidence[0]["component"] == first
        assert [m.role for m in session.history] == ["user", "assistant"]


class _RecordingBackend:
    """Passes a backend's replies through as one message and keeps their text (what the backend itself said)."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.texts: list[str] = []

    def reply(self, findings: Findings, conversation: Sequence[Message]) -> Message:
        text = DialogContract.joined(self.backend.reply(findings, conversation))
        self.texts.append(text)
        return Message("assistant", text)
