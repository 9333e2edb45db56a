"""Tiny KFD fixtures: the plugin's ``kfd-tiny`` open_clip config with seeded random weights (32 px, 4 blocks)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from forensic_core import MediaItem
from forensic_kfd.settings import KfdSettings

TINY = {"backbone": "kfd-tiny", "pretrained": None, "device": "cpu", "batch_size": 4}


def tiny_settings(**changes: object) -> KfdSettings:
    return KfdSettings.model_validate({**TINY, **changes})


def face_items(count: int = 3, seed: int = 0) -> list[MediaItem]:
    rng = np.random.default_rng(seed)
    shapes = [(48, 40), (32, 32), (64, 56), (40, 40)]
    return [
        MediaItem(image=rng.integers(0, 256, size=(*shapes[i % 4], 3), dtype=np.uint8), source=f"face-{i}.png")
        for i in range(count)
    ]


@pytest.fixture(scope="module")
def tiny_runtime() -> Iterator[object]:
    from forensic_kfd.runtime import KfdRuntime

    runtime = KfdRuntime(tiny_settings())
    yield runtime
    runtime.close()


@pytest.fixture(autouse=True)
def _torch_threads_restored() -> Iterator[None]:
    """Tests that build a Trainer directly (threads: 1 in their configs) must not change later tests' threads."""
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)
