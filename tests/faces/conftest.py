"""Real face photos shipped with scikit-image and matplotlib, and a face-free photo."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from forensic_core import Box

# Hand-checked face boxes (forehead to chin, ear to ear), read off the photos with landmarks drawn over them.
ASTRONAUT_FACE = Box(175, 65, 275, 180)
GRACE_HOPPER_FACE = Box(170, 120, 360, 335)


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()


@pytest.fixture(scope="session")
def grace_hopper() -> np.ndarray:
    from matplotlib import cbook

    with cbook.get_sample_data("grace_hopper.jpg") as handle, Image.open(handle) as image:
        return np.asarray(image.convert("RGB"))


@pytest.fixture(scope="session")
def coffee() -> np.ndarray:
    from skimage import data

    return data.coffee()
