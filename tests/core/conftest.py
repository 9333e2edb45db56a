"""Fake, dependency-free plugins that exercise the host without any model."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from PIL import Image
from pydantic import Field

from forensic_core import (
    Box,
    ComponentError,
    ComponentSettings,
    ComponentSpec,
    Detection,
    Explanation,
    Face,
    Figure,
    Findings,
    Localization,
    MediaItem,
    Message,
    hookimpl,
)


class BrightnessSettings(ComponentSettings):
    threshold: float = Field(0.5, ge=0, le=1, description="score at or above which the label is 'fake'")


class BrightnessDetector:
    """Score = mean brightness: trivially predictable, so tests can state expected values."""

    def __init__(self, settings: BrightnessSettings) -> None:
        self.settings = settings
        self.calls: list[int] = []

    def detect(self, items: Sequence[MediaItem]) -> list[Detection]:
        self.calls.append(len(items))
        return [Detection.from_score(float(i.image.mean()) / 255.0, self.settings.threshold) for i in items]


class BrightnessLocalizer:
    def localize(self, items: Sequence[MediaItem]) -> list[Localization]:
        return [
            Localization(
                heatmap=i.image.mean(axis=2).astype(np.float32) / 255.0,
                layers={"coarse": np.full((4, 4), 0.5, dtype=np.float32)},
            )
            for i in items
        ]


class SaliencyExplainer:
    def explain(self, items: Sequence[MediaItem], *, detector: Any, detections: Any) -> list[Explanation]:
        out = []
        for item, detection in zip(items, detections or [None] * len(items), strict=True):
            buffer = io.BytesIO()
            Image.fromarray(item.image).save(buffer, format="PNG")
            text = f"explained {type(detector).__name__} score {detection.score:.2f}" if detection else "no detector"
            out.append(
                Explanation(
                    maps={"saliency": np.zeros((3, 3))}, figures={"strip": Figure(buffer.getvalue())}, text=text
                )
            )
        return out


class FixedFaces:
    """One face at a fixed relative box, with a 'mouth' region in its lower half."""

    def detect_faces(self, image: np.ndarray) -> list[Face]:
        h, w = image.shape[:2]
        box = Box(w // 4, h // 4, 3 * w // 4, 3 * h // 4)
        mouth = np.array(
            [
                [box.x0, box.y0 + box.height * 0.6],
                [box.x1, box.y0 + box.height * 0.6],
                [box.x1, box.y1],
                [box.x0, box.y1],
            ],
            dtype=np.float64,
        )
        forehead = np.array(
            [
                [box.x0, box.y0],
                [box.x1, box.y0],
                [box.x1, box.y0 + box.height * 0.3],
                [box.x0, box.y0 + box.height * 0.3],
            ],
            dtype=np.float64,
        )
        return [Face(box=box, crop_box=box, regions={"mouth": mouth, "forehead": forehead})]


class EchoDialog:
    def reply(self, findings: Findings, conversation: Sequence[Message]) -> Message:
        scores = ", ".join(f"{k}={d.score:.2f}" for k, d in findings.detections.items())
        top = findings.regions[0].region if findings.regions else "nowhere"
        return Message("assistant", f"{conversation[-1].content} -> {scores}; most evidence at {top}")


class FailingDetector:
    def detect(self, items: Sequence[MediaItem]) -> list[Detection]:
        raise ComponentError("weights are corrupt")


class FakePlugin:
    """A plugin object (plugins may be objects as well as modules)."""

    @hookimpl
    def forensic_register_detectors(self) -> list[ComponentSpec]:
        return [
            ComponentSpec(
                "brightness",
                "mean brightness as a fake score",
                BrightnessSettings,
                lambda s, ctx: ctx.shared(("bright", s), lambda: BrightnessDetector(s)),
            ),
            ComponentSpec(
                "face-brightness",
                "brightness of face crops",
                BrightnessSettings,
                lambda s, ctx: BrightnessDetector(s),
                scope="faces",
            ),
            ComponentSpec("failing", "always fails", factory=lambda s, ctx: FailingDetector()),
        ]

    @hookimpl
    def forensic_register_localizers(self) -> list[ComponentSpec]:
        return [
            ComponentSpec("bright-map", "brightness heatmap", factory=lambda s, ctx: BrightnessLocalizer()),
            ComponentSpec(
                "face-bright-map",
                "brightness heatmap on faces",
                factory=lambda s, ctx: BrightnessLocalizer(),
                scope="faces",
            ),
        ]

    @hookimpl
    def forensic_register_explainers(self) -> list[ComponentSpec]:
        return [ComponentSpec("saliency", "copies the image", factory=lambda s, ctx: SaliencyExplainer())]

    @hookimpl
    def forensic_register_face_detectors(self) -> list[ComponentSpec]:
        return [ComponentSpec("fixed-faces", "one face in the middle", factory=lambda s, ctx: FixedFaces())]

    @hookimpl
    def forensic_register_dialog_backends(self) -> list[ComponentSpec]:
        return [ComponentSpec("echo", "echoes findings", factory=lambda s, ctx: EchoDialog())]


@pytest.fixture
def fake_registry(forensic_registry: Any, register_plugin: Any) -> Any:
    info = register_plugin(FakePlugin(), "fake-plugin", "1.2.0")
    assert info.status == "loaded", info.error
    return forensic_registry


def write_image(path: Any, array: np.ndarray) -> Any:
    Image.fromarray(array).save(path)
    return path


@pytest.fixture
def gradient_image(tmp_path: Any) -> Any:
    """A 60 x 80 image brighter at the bottom (so the 'mouth' region is the brightest)."""
    rows = np.linspace(0, 255, 60, dtype=np.float64)[:, None, None]
    array = np.broadcast_to(rows, (60, 80, 3)).astype(np.uint8)
    return write_image(tmp_path / "gradient.png", array)
