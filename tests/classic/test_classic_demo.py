"""The demo's face splice is flagged by the calibrated classic detector and its pristine twin is not."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from forensic_classic import components
from forensic_classic.plugin import ClassicDetectorSettings
from forensic_core import MediaItem
from forensic_core.media import load_image

pytest.importorskip("skimage.data")
ROOT = Path(__file__).resolve().parents[2]


def score(path: Path) -> float:
    detector = components.build_classic_detector(ClassicDetectorSettings(), None)
    return detector.detect([MediaItem(image=load_image(path), source=str(path))])[0].score


def test_face_splice_is_flagged_and_its_twin_is_not(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_sample", ROOT / "examples" / "make_sample.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    edited, pristine = module.make_face_splice(tmp_path)
    assert score(edited) >= 0.5 > score(pristine)
    assert (tmp_path / "astronaut_face_splice_mask.png").is_file()
