"""Testing kit for plugin authors (an opt-in pytest plugin).

Enable it with ``pytest_plugins = ["forensic_core.testing"]`` in a ``conftest.py``. It provides:

* fixtures: ``forensic_registry`` (an isolated registry with no installed plugins), ``register_plugin`` (register a
  plugin object for one test), ``forensic_cli`` (invoke the ``forensic`` CLI against that registry);
* contract suites to subclass, one per component kind: :class:`DetectorContract`, :class:`LocalizerContract`,
  :class:`ExplainerContract`, :class:`FaceDetectorContract`, :class:`DialogContract`. A subclass provides the
  ``spec`` fixture (and optionally ``settings``, ``items``, ``registration_module``, ``detector``, ``face_photo``)
  and inherits tests of the settings model, output types/ranges/shapes, determinism and lazy import. Each suite
  fails when the component is wrong, not only when it crashes: a dialog backend must answer from the findings, a
  face detector must find the face in a real photo, explainer maps and figures must be real images;
* test data: :func:`random_items` (small generated scenes with edges, flat and smooth areas, stripes and noise)
  and :class:`EdgeEnergyDetector` (a deterministic detector, the explainer contract's default ``detector``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from forensic_core.testing_contracts import (
    DetectorContract,
    DialogContract,
    ExplainerContract,
    FaceDetectorContract,
    LocalizerContract,
    _ComponentContract,
)
from forensic_core.testing_data import (
    ASTRONAUT_FACE,
    HEAVY_MODULES,
    EdgeEnergyDetector,
    astronaut_photo,
    build_component,
    imported_heavy_modules,
    overlap,
    random_items,
)

__all__ = [
    "ASTRONAUT_FACE",
    "HEAVY_MODULES",
    "DetectorContract",
    "DialogContract",
    "EdgeEnergyDetector",
    "ExplainerContract",
    "FaceDetectorContract",
    "LocalizerContract",
    "astronaut_photo",
    "build_component",
    "forensic_cli",
    "forensic_registry",
    "imported_heavy_modules",
    "overlap",
    "random_items",
    "register_plugin",
]
_BASES = (_ComponentContract,)  # the shared base stays importable from here, as before the split


@pytest.fixture
def forensic_registry() -> Iterator[Any]:
    """An isolated registry holding only the core's built-in plugin, made current for the test.

    Installed plugins are not loaded, so a test sees exactly what it registers with ``register_plugin``.
    """
    from forensic_core import builtin
    from forensic_core.registry import CORE_PLUGIN, Registry, use_registry

    registry = Registry(raise_errors=False)
    registry.register(builtin, CORE_PLUGIN, "test", entry_point="(built-in)")
    with use_registry(registry):
        yield registry


@pytest.fixture
def register_plugin(forensic_registry: Any) -> Any:
    """``register_plugin(obj, name="my-plugin", version="0.0")`` registers a plugin for this test only."""

    def register(plugin: object, name: str = "test-plugin", version: str = "0.0") -> Any:
        return forensic_registry.register(plugin, name, version, entry_point="(test)")

    return register


@pytest.fixture
def forensic_cli(forensic_registry: Any) -> Any:
    """``forensic_cli("run", "x.png", ...)`` invokes the CLI against the test's registry; returns click's Result."""
    from click.testing import CliRunner

    from forensic_core.cli import build_cli

    def invoke(*args: str) -> Any:
        group = build_cli(forensic_registry)
        return CliRunner().invoke(group, list(args), catch_exceptions=False)

    return invoke
