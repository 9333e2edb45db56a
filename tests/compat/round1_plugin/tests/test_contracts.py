"""The plugin's own tests, written the 1.0 way (round-1 README step 4): subclass the contract suites."""

import pytest
from forensic_round1 import plugin

from forensic_core.testing import (
    DetectorContract,
    DialogContract,
    ExplainerContract,
    FaceDetectorContract,
    LocalizerContract,
)


class TestMeanDetector(DetectorContract):
    @pytest.fixture
    def spec(self):
        return plugin.forensic_register_detectors()[0]

    @pytest.fixture
    def registration_module(self):
        return "forensic_round1.plugin"


class TestContrastLocalizer(LocalizerContract):
    @pytest.fixture
    def spec(self):
        return plugin.forensic_register_localizers()[0]

    @pytest.fixture
    def registration_module(self):
        return "forensic_round1.plugin"


class TestOcclusionExplainer(ExplainerContract):
    @pytest.fixture
    def spec(self):
        return plugin.forensic_register_explainers()[0]

    @pytest.fixture
    def registration_module(self):
        return "forensic_round1.plugin"


class TestEchoBackend(DialogContract):
    @pytest.fixture
    def spec(self):
        return plugin.forensic_register_dialog_backends()[0]

    @pytest.fixture
    def registration_module(self):
        return "forensic_round1.plugin"


class TestCentreFaces(FaceDetectorContract):
    @pytest.fixture
    def spec(self):
        return plugin.forensic_register_face_detectors()[0]

    @pytest.fixture
    def registration_module(self):
        return "forensic_round1.plugin"
