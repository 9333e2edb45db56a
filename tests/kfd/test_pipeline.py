"""End to end through the core: the example YAML -> loading -> inference -> report, and the offline error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from forensic_kfd import plugin

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pipelines" / "kfd-tiny.yaml"


@pytest.fixture
def image_path(tmp_path: Path) -> Path:
    path = tmp_path / "face.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, size=(48, 64, 3), dtype=np.uint8)).save(path)
    return path


def test_the_tiny_example_pipeline_runs_offline_into_a_report(
    forensic_cli, register_plugin, image_path: Path, tmp_path: Path
) -> None:
    register_plugin(plugin, name="forensic-kfd", version="0.1.0")
    result = forensic_cli("run", "-p", str(EXAMPLE), str(image_path), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    entry = report["results"][0]
    detection = entry["detections"][0]
    assert detection["component"] == "kfd" and detection["details"]["heads"] == "untrained"
    captions = [layer["caption"] for layer in entry["localizations"][0]["layers"]]
    assert captions == ["layer 2 fake-correlation", "layer 3 fake-correlation", "layer 4 fake-correlation"]
    assert {c["weights"] for c in report["components"]} == {
        "kfd-tiny/random(seed=0) sha256:140ed1961a1f; kfd heads untrained"
    }


def test_missing_backbone_weights_offline_is_one_actionable_line(
    forensic_cli, register_plugin, image_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    register_plugin(plugin, name="forensic-kfd", version="0.1.0")
    pipeline = tmp_path / "kfd.yaml"
    settings = {"backbone": "ViT-B-16", "pretrained": "openai", "cache_dir": str(tmp_path / "empty-cache")}
    pipeline.write_text(json.dumps({"detectors": [{"name": "kfd", "settings": settings}]}))
    result = forensic_cli("run", "-p", str(pipeline), str(image_path), "-o", str(tmp_path / "out"))
    assert result.exit_code != 0
    assert "ViT-B-16/openai is not in the local cache" in result.output
    assert "local checkpoint file" in result.output
