"""Choosing the region source: 'auto' falls back quietly, an explicit request fails with what to install."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from forensic_core import BuildContext, MissingWeightsError, PluginLoadError
from forensic_faces import landmarks
from forensic_faces.settings import HaarSettings


def choose(**settings: object) -> object:
    return landmarks.build_landmarker(HaarSettings(**settings), BuildContext())


@pytest.fixture
def without_dlib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(landmarks, "dlib_available", lambda: False)


@pytest.fixture
def without_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(landmarks, "dlib_available", lambda: True)
    monkeypatch.setattr(landmarks, "packaged_model_path", lambda: None)


def test_none_means_box_geometry() -> None:
    assert choose(landmarks="none") is None


def test_auto_falls_back_to_box_geometry_without_dlib(without_dlib: None) -> None:
    assert choose(landmarks="auto") is None


def test_auto_falls_back_to_box_geometry_without_the_model(without_model: None) -> None:
    assert choose(landmarks="auto") is None


def test_asking_for_dlib_without_dlib_says_what_to_install(without_dlib: None) -> None:
    with pytest.raises(PluginLoadError, match=r"forensic-faces\[landmarks\]"):
        choose(landmarks="dlib")


def test_asking_for_dlib_without_the_model_says_what_to_install(without_model: None) -> None:
    with pytest.raises(MissingWeightsError, match=r"shape_predictor_68_face_landmarks\.dat"):
        choose(landmarks="dlib")


def test_a_missing_explicit_model_file_is_an_error_even_in_auto_mode(tmp_path: Path) -> None:
    if not landmarks.dlib_available():
        pytest.skip("dlib is not installed: the missing-dlib error comes first")
    with pytest.raises(MissingWeightsError, match=r"nope\.dat"):
        choose(landmarks="auto", landmark_model=tmp_path / "nope.dat")


def test_the_packaged_model_is_found_without_importing_its_package() -> None:
    if importlib.util.find_spec("face_recognition_models") is None:
        pytest.skip("face-recognition-models is not installed")
    code = (
        "import sys\nfrom forensic_faces.landmarks import packaged_model_path\n"
        "path = packaged_model_path()\nassert path is not None and path.is_file(), path\n"
        "assert 'face_recognition_models' not in sys.modules and 'pkg_resources' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
