"""Shared fixtures for the classic plugin's tests."""

from __future__ import annotations

import numpy as np
import pytest

from forensic_classic import components


@pytest.fixture
def map_computations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the evidence maps actually computed (not served from the shared cache) during the test."""
    calls: list[str] = []
    original = components.compute_cells

    def counting(name: str, image: np.ndarray, settings: object) -> components.CellMap:
        calls.append(name)
        return original(name, image, settings)

    monkeypatch.setattr(components, "compute_cells", counting)
    return calls
