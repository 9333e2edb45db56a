"""Registration: the plugin's components are discoverable, listed, and registering them imports nothing heavy."""

from __future__ import annotations

import importlib.metadata

from forensic_core import ComponentSpec
from forensic_core.testing import imported_heavy_modules
from forensic_faces import plugin
from forensic_faces.settings import HaarSettings, LbpSettings


def specs() -> dict[str, ComponentSpec]:
    return {spec.name: spec for spec in plugin.forensic_register_face_detectors()}


def test_registers_haar_and_lbp_face_detectors_with_their_settings() -> None:
    registered = specs()
    assert set(registered) == {"haar", "lbp"}
    assert registered["haar"].settings is HaarSettings
    assert registered["lbp"].settings is LbpSettings


def test_entry_point_names_the_registration_module() -> None:
    entry_points = importlib.metadata.entry_points(group="forensic.plugins")
    targets = {ep.value for ep in entry_points if ep.dist is not None and ep.dist.name == "forensic-faces"}
    assert targets == {"forensic_faces.plugin"}


def test_registering_imports_neither_opencv_nor_scikit_image_nor_dlib() -> None:
    statement = "from forensic_faces import plugin; plugin.forensic_register_face_detectors()\nimport sys\n"
    statement += "assert 'dlib' not in sys.modules, 'dlib imported'"
    assert imported_heavy_modules(statement) == []


def test_factories_resolve_to_the_detector_builders() -> None:
    from forensic_faces.haar import build_haar
    from forensic_faces.lbp import build_lbp

    assert specs()["haar"].resolve_factory() is build_haar
    assert specs()["lbp"].resolve_factory() is build_lbp


def test_forensic_components_lists_both_face_detectors(register_plugin, forensic_cli) -> None:
    register_plugin(plugin, name="forensic-faces", version="0.1.0")
    result = forensic_cli("components")
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.output.splitlines()]
    assert ["face_detector", "haar", "forensic-faces"] in [line[:3] for line in lines]
    assert ["face_detector", "lbp", "forensic-faces"] in [line[:3] for line in lines]
