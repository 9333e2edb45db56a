"""Fixtures of the evaluation tests: predictable fake components, a registry with the eval plugin, media writers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from forensic_core import ComponentSpec, Detection, Localization, MediaItem, hookimpl


class Brightness:
    """Score = mean brightness / 255, so a test can choose every score by the pixel values it writes."""

    def detect(self, items: Sequence[MediaItem]) -> list[Detection]:
        return [Detection.from_score(float(item.image.mean()) / 255.0, 0.5) for item in items]


class Darkness:
    """Score = 1 - mean brightness / 255: the second detector of a side-by-side comparison."""

    def detect(self, items: Sequence[MediaItem]) -> list[Detection]:
        return [Detection.from_score(1.0 - float(item.image.mean()) / 255.0, 0.5) for item in items]


class RedHeat:
    """Heat = red channel / 255: a localizer whose heatmap a test writes directly into the image."""

    def localize(self, items: Sequence[MediaItem]) -> list[Localization]:
        return [Localization(heatmap=item.image[..., 0].astype(np.float32) / 255.0) for item in items]


class EvalFakePlugin:
    @hookimpl
    def forensic_register_detectors(self) -> list[ComponentSpec]:
        return [
            ComponentSpec("bright", "mean brightness", factory=lambda s, ctx: Brightness(), thread_safe=True),
            ComponentSpec("dark", "one minus mean brightness", factory=lambda s, ctx: Darkness(), thread_safe=True),
        ]

    @hookimpl
    def forensic_register_localizers(self) -> list[ComponentSpec]:
        return [ComponentSpec("red", "red channel", factory=lambda s, ctx: RedHeat(), thread_safe=True)]


@pytest.fixture
def eval_registry(forensic_registry: Any, register_plugin: Any) -> Any:
    """The core, the eval plugin (readers and the eval command) and the predictable fake components."""
    from forensic_eval import plugin

    for obj, name in ((plugin, "forensic-eval"), (EvalFakePlugin(), "eval-fakes")):
        info = register_plugin(obj, name, "0.1")
        assert info.status == "loaded", info.error
    return forensic_registry


@pytest.fixture
def pipeline_file(tmp_path: Path) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text("detectors: [bright, dark]\nlocalizers: [red]\nvideo: {frames: 3}\n", encoding="utf-8")
    return path


def write_image(path: Path, value: int, *, red: np.ndarray | None = None, size: tuple[int, int] = (24, 32)) -> Path:
    """A PNG of constant gray ``value`` (optionally with its red channel replaced by ``red``)."""
    image = np.full((*size, 3), value, dtype=np.uint8)
    if red is not None:
        image[..., 0] = red
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)
    return path


def write_video(path: Path, values: Sequence[int], size: tuple[int, int] = (32, 24)) -> Path:
    """An MJPG AVI with one constant-gray frame per value (OpenCV, as the readers' tests need few frames)."""
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, size)
    assert writer.isOpened(), f"OpenCV cannot write {path}"
    for value in values:
        writer.write(np.full((size[1], size[0], 3), value, dtype=np.uint8))
    writer.release()
    return path
