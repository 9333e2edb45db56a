"""``forensic eval --engine ray`` equals ``forensic eval`` on the local engine (metrics, predictions, pixel
metrics read from the heatmaps the driver wrote)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .conftest import write_images

pytestmark = pytest.mark.usefixtures("ray_session")


def manifest(root: Path) -> Path:
    reals = write_images(root, [f"real{index}.jpg" for index in range(3)])
    fakes = write_images(root, [f"fake{index}.jpg" for index in range(3)])
    lines = ["path,label,mask"] + [f"{path.name},real," for path in reals]
    for index, path in enumerate(fakes):
        mask = np.zeros((48, 64), np.uint8)
        mask[4 + index : 24, 10:30] = 255
        Image.fromarray(mask).save(root / f"mask{index}.png")
        lines.append(f"{path.name},fake,mask{index}.png")
    (root / "data.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root / "data.csv"


def test_eval_through_ray_equals_eval_locally(registry, tmp_path):
    forensic_eval = pytest.importorskip("forensic_eval.harness")
    from forensic_eval.running import RunOptions

    data = manifest(tmp_path / "data")
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("detectors: [classic]\nlocalizers: [dq]\n", encoding="utf-8")
    local = forensic_eval.evaluate(data, pipeline, registry, tmp_path / "local", resamples=20, html=False)
    options = RunOptions(engine="ray", engine_settings={"actors_per_node": 2})
    remote = forensic_eval.evaluate(
        data, pipeline, registry, tmp_path / "ray", resamples=20, options=options, html=False
    )

    assert remote.errors == local.errors == []
    assert remote.metrics == local.metrics
    assert remote.metrics["localizers"]["dq"]  # pixel metrics computed from the heatmaps the driver wrote
    predictions = [(tmp_path / name / "predictions.csv").read_text(encoding="utf-8") for name in ("local", "ray")]
    assert predictions[0] == predictions[1]
    assert json.loads((tmp_path / "ray" / "run" / "run.json").read_text())["engine"] == "ray"
