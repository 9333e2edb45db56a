"""One local Ray instance (2 CPUs, a small object store) for the whole session, and what the tests share.

Ray takes seconds to start, so it starts once. Its workers run :func:`ray_faults.setup_worker` so that the
fault-injecting test detectors exist there too; everything else the workers analyse with is installed
(forensic-classic, forensic-kfd), as on a real cluster.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
# Read by Ray Data when it is imported: a stuck stream fails the test instead of hanging it.
os.environ.setdefault("RAY_DATA_EXECUTION_NO_PROGRESS_TIMEOUT_S", "120")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import ray_faults  # noqa: E402

TINY_KFD = {
    "backbone": "kfd-tiny",
    "pretrained": None,
    "seed": 0,
    "device": "cpu",
    "batch_size": 8,
    "threshold": 0.5,
}
# The classic plugin and the tiny KFD in one pipeline: one Ray run covers both installed plugins.
CLASSIC_AND_KFD: dict[str, Any] = {
    "detectors": ["classic", {"name": "kfd", "settings": TINY_KFD}],
    "localizers": ["dq", {"name": "kfd", "settings": TINY_KFD}],
}


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    """The session's Ray instance: 2 CPUs (actors get fractions of them), 128 MiB object store, no dashboard."""
    ray = pytest.importorskip("ray")
    pytest.importorskip("forensic_ray")
    python_path = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
    ray.init(
        num_cpus=2,
        object_store_memory=128 << 20,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={
            "env_vars": {"PYTHONPATH": python_path, "HF_HUB_OFFLINE": "1", "RAY_AUTH_MODE": "disabled"},
            "worker_process_setup_hook": "ray_faults.setup_worker",
        },
    )
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture(scope="session")
def installed_registry() -> Any:
    """The installed plugins (as a Ray worker sees them) plus the fault plugin."""
    from forensic_core.registry import Registry

    registry = Registry.discover()
    assert "forensic-classic" in {info.name for info in registry.plugins.values()}
    ray_faults.register(registry)
    return registry


@pytest.fixture
def registry(installed_registry: Any) -> Iterator[Any]:
    from forensic_core.registry import use_registry

    with use_registry(installed_registry):
        yield installed_registry


def write_images(folder: Path, names: list[str], size: tuple[int, int] = (48, 64)) -> list[Path]:
    """JPEG scenes (a gradient and a bright square placed by index) under ``folder``, one per name."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, name in enumerate(names):
        height, width = size
        image = np.zeros((height, width, 3), np.uint8)
        image[..., 0] = np.linspace(0, 255, width, dtype=np.uint8)[None, :]
        image[..., 1] = (index * 37) % 256
        image[4 + index % 8 : 20 + index % 8, 10:26, 2] = 250
        path = folder / name
        Image.fromarray(image).save(path, quality=85)
        paths.append(path)
    return paths


def journal_records(outdir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (outdir / "results.jsonl").read_text().splitlines()]


def comparable(record: dict[str, Any]) -> dict[str, Any]:
    """A result as two engines must agree on it: everything but the wall-clock timings."""
    return {key: value for key, value in record.items() if key != "timings"}
