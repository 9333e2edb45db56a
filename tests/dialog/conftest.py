"""Findings fixtures for dialog tests: one face with named regions, a fake and a real verdict."""

from __future__ import annotations

import numpy as np
import pytest

from forensic_core import Box, Detection, Explanation, Face, Findings, Localization, RegionScore


def square(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


FACE = Face(
    box=Box(8, 8, 56, 56),
    crop_box=Box(4, 4, 60, 60),
    regions={"left_eye": square(34, 18, 48, 26), "right_eye": square(16, 18, 30, 26), "mouth": square(22, 40, 42, 50)},
)


def make_findings(score: float, *, hot: str = "left_eye", second_detector: float | None = None) -> Findings:
    heat = np.zeros((64, 64))
    x0, y0, x1, y1 = {"left_eye": (34, 18, 48, 26), "mouth": (22, 40, 42, 50), "right_eye": (16, 18, 30, 26)}[hot]
    heat[y0:y1, x0:x1] = 0.9
    detections = {"kfd": Detection.from_score(score, 0.5, details={"heads": "trained"})}
    if second_detector is not None:
        detections["classic"] = Detection.from_score(second_detector, 0.5)
    regions = [RegionScore(0, hot, "kfd", 0.9)] + [
        RegionScore(0, name, "kfd", 0.05) for name in ("left_eye", "right_eye", "mouth") if name != hot
    ]
    return Findings(
        source="face.png",
        detections=detections,
        localizations={"kfd": Localization(heatmap=heat)},
        faces=[FACE],
        regions=regions,
        image=np.full((64, 64, 3), 128, np.uint8),
    )


@pytest.fixture
def fake_findings() -> Findings:
    return make_findings(0.93)


@pytest.fixture
def real_findings() -> Findings:
    return make_findings(0.12, hot="mouth")


def with_explanation(findings: Findings) -> Findings:
    from dataclasses import replace

    details = {"block_share": [0.1, 0.2, 0.6, 0.1], "settling_block": 3}
    explanation = Explanation(maps={"daam": np.zeros((64, 64))}, text="DAAM traced the score.", details=details)
    return replace(findings, explanations={"daam": explanation})


@pytest.fixture(scope="session")
def tiny_lm_folder(tmp_path_factory: pytest.TempPathFactory):
    pytest.importorskip("transformers")
    from .tiny_lm import build_tiny_lm

    return build_tiny_lm(tmp_path_factory.mktemp("tiny-lm"))
