"""Test data and helpers of the plugin authors' testing kit (re-exported by :mod:`forensic_core.testing`).

Generated scenes that catch batch bugs, a real default detector, a real face photo with its face box, building a
component the way the pipeline does, and the fresh-interpreter check of what an import pulls in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from forensic_core.components import ComponentSpec
from forensic_core.context import BuildContext
from forensic_core.results import Box, Detection, MediaItem

HEAVY_MODULES = ("torch", "timm", "open_clip", "transformers", "cv2", "scipy", "skimage", "matplotlib")


def build_component(spec: ComponentSpec, settings: Any = None, context: BuildContext | None = None) -> Any:
    """Build a component instance the way the pipeline does (lazy factory, settings, shared context)."""
    factory = spec.resolve_factory()
    return factory(settings if settings is not None else spec.settings(), context or BuildContext())


def random_items(shapes: Sequence[tuple[int, int]] = ((48, 64), (64, 40)), seed: int = 0) -> list[MediaItem]:
    """Small deterministic RGB items of different sizes and different, structured content.

    Each item is a generated scene: a smooth two-colour gradient at its own angle, a solid rectangle and a disc
    (flat areas with sharp straight and curved edges), a stripe pattern (strong, regular high frequencies) and a
    patch of noise (texture). Sizes, colours and positions differ from item to item, so a component that leaks
    state between the items of a batch, or that only works on noise, gives different answers for the batch and
    for each item alone, and "batch equals single" can fail. (Pure noise would hide both: every noise image has
    the same statistics.)
    """
    rng = np.random.default_rng(seed)
    return [
        MediaItem(image=_scene(height, width, rng), source=f"random-{index}.png")
        for index, (height, width) in enumerate(shapes)
    ]


def _scene(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """One generated scene (see :func:`random_items`) as H x W x 3 uint8."""
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    angle = rng.uniform(0, np.pi)
    ramp = np.cos(angle) * cols / max(width - 1, 1) + np.sin(angle) * rows / max(height - 1, 1)
    ramp = (ramp - ramp.min()) / (np.ptp(ramp) or 1.0)
    start, end = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    image = start + ramp[..., None] * (end - start)
    y0, x0 = int(rng.integers(0, max(height // 2, 1))), int(rng.integers(0, max(width // 2, 1)))
    image[y0 : y0 + height // 3, x0 : x0 + width // 3] = rng.uniform(0, 255, 3)
    cy, cx, radius = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(0.15, 0.3) * min(height, width)
    image[(rows - cy) ** 2 + (cols - cx) ** 2 <= radius**2] = rng.uniform(0, 255, 3)
    stripe_y = int(rng.integers(0, max(height - height // 4, 1)))
    stripe_x = int(rng.integers(0, max(width - width // 4, 1)))
    period = int(rng.integers(2, 5))
    stripes = (np.arange(width // 4) // period) % 2 == 0
    patch = image[stripe_y : stripe_y + height // 4, stripe_x : stripe_x + width // 4]
    patch[:, stripes] = 255.0 - patch[:, stripes]
    noise_h, noise_w = max(height // 5, 1), max(width // 5, 1)
    image[height - noise_h :, width - noise_w :] += rng.normal(0, 40, (noise_h, noise_w, 3))
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


class EdgeEnergyDetector:
    """A small, deterministic, real detector for contract suites: the score is the image's edge energy.

    ``score = 1 - exp(-mean(|dx| + |dy|) / 24)`` over the grey image: 0 on a flat image, higher with more sharp
    detail. It is no forgery detector, but it looks at every pixel of each item independently, so an explainer
    pointed at it has a decision that depends on the image content, and occluding or perturbing a region
    changes the score.
    """

    def detect(self, items: Sequence[MediaItem]) -> list[Detection]:
        return [Detection.from_score(self.score(item.image)) for item in items]

    @staticmethod
    def score(image: np.ndarray) -> float:
        grey = image.astype(np.float64).mean(axis=2)
        energy = np.abs(np.diff(grey, axis=1)).mean() if grey.shape[1] > 1 else 0.0
        energy += np.abs(np.diff(grey, axis=0)).mean() if grey.shape[0] > 1 else 0.0
        return float(1.0 - np.exp(-energy / 24.0))


def imported_heavy_modules(statement: str) -> list[str]:
    """Run ``statement`` in a fresh interpreter and return the heavy modules it imported.

    The interpreter sees the test process's ``sys.path``, so a plugin importable in the test (installed, or put
    on the path by a conftest) is importable there too.
    """
    code = f"import sys, json\n{statement}\nprint(json.dumps([m for m in {list(HEAVY_MODULES)!r} if m in sys.modules]))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in sys.path if path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


ASTRONAUT_FACE = Box(175, 65, 275, 180)
"""The face in scikit-image's ``astronaut`` photo (512 x 512), forehead to chin and ear to ear, checked by hand."""


def astronaut_photo() -> tuple[np.ndarray, Box]:
    """scikit-image's astronaut photo and its face box; a failure naming what to install when it is missing.

    A face detector suite that cannot get a photo with a face must say so, not pass on images without faces.
    """
    try:
        from skimage import data
    except ImportError:
        pytest.fail(
            "FaceDetectorContract needs a real face photo: install scikit-image (it ships with "
            "'forensic-core[test]') or override the 'face_photo' fixture to return (image, face_box)",
            pytrace=False,
        )
    return data.astronaut(), ASTRONAUT_FACE


def overlap(box: Box, other: Box) -> float:
    """Share of ``other``'s area that ``box`` covers (0..1)."""
    width = min(box.x1, other.x1) - max(box.x0, other.x0)
    height = min(box.y1, other.y1) - max(box.y0, other.y0)
    area = (other.x1 - other.x0) * (other.y1 - other.y0)
    return max(width, 0) * max(height, 0) / area if area > 0 else 0.0
