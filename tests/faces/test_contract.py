"""The core's face detector contract, run on a real face photo so that regions and crops are exercised."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from forensic_core import ComponentSpec
from forensic_core.testing import FaceDetectorContract
from forensic_faces import plugin


def spec_named(name: str) -> ComponentSpec:
    return next(spec for spec in plugin.forensic_register_face_detectors() if spec.name == name)


class _OnAstronaut(FaceDetectorContract):
    @pytest.fixture
    def registration_module(self) -> str:
        return "forensic_faces.plugin"

    @pytest.fixture
    def settings(self, spec: ComponentSpec) -> Any:
        # Landmark models take a second to load per build; the landmark path has its own tests.
        return spec.settings(landmarks="none")

    @pytest.fixture
    def face_image(self, astronaut: np.ndarray) -> np.ndarray:
        return astronaut

    def test_contract_image_has_a_face(self, component: Any, face_image: np.ndarray) -> None:
        assert len(component.detect_faces(face_image)) == 1


class TestHaarContract(_OnAstronaut):
    @pytest.fixture
    def spec(self) -> ComponentSpec:
        return spec_named("haar")


class TestLbpContract(_OnAstronaut):
    @pytest.fixture
    def spec(self) -> ComponentSpec:
        return spec_named("lbp")


class TestHaarContractOnRandomItems(FaceDetectorContract):
    """The contract's own small random images: no face, and no crash on images smaller than the cascade."""

    @pytest.fixture
    def spec(self) -> ComponentSpec:
        return spec_named("haar")

    @pytest.fixture
    def settings(self, spec: ComponentSpec) -> Any:
        return spec.settings(landmarks="none")

    @pytest.fixture
    def registration_module(self) -> str:
        return "forensic_faces.plugin"
