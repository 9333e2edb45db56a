"""The frozen round-1 plugin is imported from its folder, as an installed plugin would be from site-packages."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROUND1 = Path(__file__).parent / "round1_plugin"
if str(ROUND1) not in sys.path:
    sys.path.insert(0, str(ROUND1))


@pytest.fixture
def gradient_image(tmp_path: Path) -> Path:
    """A 60 x 80 RGB image brighter at the bottom."""
    rows = np.linspace(0, 255, 60)[:, None, None]
    path = tmp_path / "gradient.png"
    Image.fromarray(np.broadcast_to(rows, (60, 80, 3)).astype(np.uint8)).save(path)
    return path
