"""The leaderboard example: its pipeline validates against the installed plugins and lists every detector."""

from __future__ import annotations

from pathlib import Path

import pytest

from forensic_core.components import ComponentKind
from forensic_core.config import load_pipeline
from forensic_core.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = {"forensic-core", "forensic-classic", "forensic-kfd", "forensic-faces", "forensic-daam", "forensic-eval"}


def test_leaderboard_lists_every_first_party_detector() -> None:
    registry = Registry.discover()
    if registry.plugins.get("forensic-kfd") is None:
        pytest.skip("forensic-kfd is not installed")
    pipeline = load_pipeline(ROOT / "examples" / "eval" / "leaderboard.yaml", registry)
    first_party = {c.name for c in registry.components(ComponentKind.DETECTOR) if c.plugin in FIRST_PARTY}
    assert {entry.name for entry in pipeline.detectors} == first_party
