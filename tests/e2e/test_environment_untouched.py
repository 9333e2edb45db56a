"""A run with every first-party component kind leaves the process's configuration as it found it (issue 21).

Faces (haar), detectors and localizers (kfd on its tiny backbone, classic), an explainer (daam) and a dialog
backend (grounded) all run offline; afterwards the environment variables and the root logger's level are unchanged.
"""

from __future__ import annotations

import json
import logging
import os

import pytest
from PIL import Image

pytest.importorskip("open_clip")
pytest.importorskip("skimage")

PIPELINE = {
    "faces": "haar",
    "detectors": [
        {"name": "kfd", "settings": {"backbone": "kfd-tiny", "pretrained": None, "seed": 0, "device": "cpu"}},
        "classic",
    ],
    "localizers": [
        {"name": "kfd", "settings": {"backbone": "kfd-tiny", "pretrained": None, "seed": 0, "device": "cpu"}},
        "dq",
    ],
    "explainers": [{"name": "daam", "detector": "kfd", "settings": {"all_blocks": False}}],
    "dialog": {"name": "grounded", "questions": ["Is this image a deepfake?", "What about the left eye?"]},
}


def test_a_full_pipeline_writes_no_environment_and_keeps_the_root_logger(tmp_path):
    from skimage import data

    from forensic_core.config import load_pipeline
    from forensic_core.registry import installed_registry
    from forensic_core.runner import run_pipeline

    Image.fromarray(data.astronaut()).save(tmp_path / "astronaut.jpg", quality=92)
    registry = installed_registry()
    # Third-party libraries may write the environment when imported (OpenCV sets LD_LIBRARY_PATH): import them
    # first, so that what is checked is what the host and the plugins do.
    for library in ("cv2", "torch", "open_clip", "timm"):
        pytest.importorskip(library)
    environment, level = dict(os.environ), logging.getLogger().level
    pipeline = load_pipeline(PIPELINE, registry)
    outcome = run_pipeline(pipeline, registry, [tmp_path / "astronaut.jpg"], tmp_path / "out")
    assert outcome.exit_code == 0, outcome.problems
    assert dict(os.environ) == environment
    assert logging.getLogger().level == level
    record = json.loads((tmp_path / "out" / "results.jsonl").read_text().splitlines()[-1])
    assert record["status"] == "ok"
    kinds = {key for key in ("detections", "faces", "explanations", "dialog") if record.get(key)}
    assert kinds == {"detections", "faces", "explanations", "dialog"}, sorted(record)
