"""The core's contract suites, applied to every component forensic-classic registers."""

from __future__ import annotations

import pytest

from forensic_classic import plugin
from forensic_core import ComponentSpec
from forensic_core.testing import DetectorContract, LocalizerContract


def _localizer(name: str) -> ComponentSpec:
    return next(spec for spec in plugin.forensic_register_localizers() if spec.name == name)


class _Classic:
    @pytest.fixture
    def registration_module(self) -> str:
        return "forensic_classic.plugin"


class TestElaContract(_Classic, LocalizerContract):
    @pytest.fixture
    def spec(self) -> ComponentSpec:
        return _localizer("ela")


class TestNoiseContract(_Classic, LocalizerContract):
    @pytest.fixture
    def spec(self) -> ComponentSpec:
        return _localizer("noise")


class TestGhostContract(_Classic, LocalizerContract):
    @pytest.fixture
    def spec(self) -> ComponentSpec:
        return _localizer("ghost")


class TestDqContract(_Classic, LocalizerContract):
    @pytest.fixture
    def spec(self) -> ComponentSpec:
        return _localizer("dq")


class TestNadjpgContract(_Classic, LocalizerContract):
    @pytest.fixture
    def spec(self) -> ComponentSpec:
        return _localizer("nadjpg")


class TestBlindNoiseContract(_Classic, LocalizerContract):
    @pytest.fixture
    def spec(self) -> ComponentSpec:
        return _localizer("blindnoise")


class TestFusedContract(_Classic, LocalizerContract):
    @pytest.fixture
    def spec(self) -> ComponentSpec:
        return _localizer("fused")


class TestFusedAllEvidenceNoAnchorContract(TestFusedContract):
    @pytest.fixture
    def settings(self, spec: ComponentSpec) -> plugin.FusedSettings:
        return spec.settings(evidence=("dq", "nadjpg", "blindnoise", "ghost"), anchor=None)


class TestClassicDetectorContract(_Classic, DetectorContract):
    @pytest.fixture
    def spec(self) -> ComponentSpec:
        return next(spec for spec in plugin.forensic_register_detectors() if spec.name == "classic")


class TestClassicDetectorAllEvidenceContract(TestClassicDetectorContract):
    @pytest.fixture
    def settings(self, spec: ComponentSpec) -> plugin.ClassicDetectorSettings:
        return spec.settings(evidence=("ela", "noise", "ghost", "dq", "nadjpg", "blindnoise"))


class TestLearnedDetectorContract(_Classic, DetectorContract):
    @pytest.fixture
    def spec(self) -> ComponentSpec:
        return next(spec for spec in plugin.forensic_register_detectors() if spec.name == "learned")
